import Foundation
import Testing
@testable import Simulator

@Suite struct StreamConnectionStateTests {
    @Test func startsWithHeartbeatAndEndsWithClosedOnTimeout() {
        var state = StreamConnectionState()
        let flush = state.start(attached: ["a"], errors: [])
        #expect(flush)
        let first = state.drain()
        #expect(first.envelopes == [.heartbeat])
        let (closing, released) = state.timeout()
        #expect(closing && released == ["a"])
        let drained = state.drain()
        #expect(drained.envelopes == [.closed] && drained.finish)
        #expect(state.phase == .finished)
    }

    @Test func allIdsFailingGivesErrorsThenClosedWithoutHeartbeat() {
        var state = StreamConnectionState()
        _ = state.start(attached: [], errors: [(code: "ErrorSubscriptionNotFound", message: "x", ids: ["a"])])
        let drained = state.drain()
        #expect(drained.envelopes == [.error(code: "ErrorSubscriptionNotFound", message: "x", subscriptionIds: ["a"]), .closed])
        #expect(drained.finish)
    }

    @Test func detachingTheLastIdClosesTheStream() {
        var state = StreamConnectionState()
        _ = state.start(attached: ["a", "b"], errors: [])
        _ = state.drain()
        _ = state.detach("a", code: "ErrorNewEventStreamConnectionOpened", message: "m")
        let partial = state.drain()
        #expect(partial.finish == false)
        _ = state.detach("b", code: "ErrorNewEventStreamConnectionOpened", message: "m")
        let drained = state.drain()
        #expect(drained.envelopes.last == .closed && drained.finish)
    }

    @Test func flushIsRequestedOncePerBatch() {
        var state = StreamConnectionState()
        let first = state.start(attached: ["a"], errors: [])
        let second = state.heartbeat()
        #expect(first && !second)
        _ = state.drain()
        let third = state.heartbeat()
        #expect(third)
    }

    @Test func rendererCapsEventsPerEnvelopeAndGroupsPerSubscription() {
        let event = SimEvent(kind: .created, time: Date(timeIntervalSince1970: 0), isFolder: false, id: "i", changeKey: "c",
                             parentFolderId: "p", folderScope: [2])
        let envelopes = StreamEnvelopeRenderer.render(
            [.events(subscriptionId: "a", events: Array(repeating: event, count: 150)),
             .events(subscriptionId: "b", events: [event])], maxEvents: 100)
        #expect(envelopes.count == 2)
        #expect(envelopes.allSatisfy { !$0.hasPrefix("<?xml") && $0.hasPrefix("<Envelope xmlns=") })
        let second = try? Soap.streamMessage(envelopes[1])
        let groups = second.map(Soap.notifications) ?? []
        #expect(groups.map(\.0) == ["a", "b"])
        #expect(groups.map(\.1.count) == [50, 1])
    }
}
