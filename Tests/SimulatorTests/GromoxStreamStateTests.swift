import Foundation
import Testing
@testable import Simulator

/// The connection state machine in gromox mode, without I/O.
@Suite struct GromoxStreamStateTests {
    let failure: StreamConnectionState.Failure = (code: "ErrorInvalidSubscription", message: "Subscription is invalid.", ids: ["x"])
    let refusal = StreamConnectionState.Envelope.refusal(code: "ErrorInvalidSubscription", message: "Subscription is invalid.",
                                                         subscriptionIds: ["x"])
    let repeated = StreamConnectionState.Envelope.error(code: "ErrorInvalidSubscription", message: "Subscription is invalid.",
                                                        subscriptionIds: ["x"])

    @Test func refusingEveryIdLingersUntilTheNextTick() {
        var state = StreamConnectionState(gromox: true)
        _ = state.start(attached: [], errors: [failure])
        let opened = state.drain()
        #expect(opened.envelopes == [refusal] && !opened.finish)
        #expect(state.phase == .lingering)
        _ = state.heartbeat()
        let ending = state.drain()
        #expect(ending.envelopes == [repeated, .closed] && ending.finish)
    }

    @Test func refusedIdsAreRepeatedOnceBesideTheGoodOnes() {
        var state = StreamConnectionState(gromox: true)
        _ = state.start(attached: ["a"], errors: [failure])
        #expect(state.drain().envelopes == [refusal])
        let event = SimEvent(kind: .created, time: Date(), isFolder: false, id: "i", parentFolderId: "p", folderScope: [1])
        _ = state.events("a", [event])
        #expect(state.drain().envelopes == [repeated, .events(subscriptionId: "a", events: [event])])
        _ = state.heartbeat()
        #expect(state.drain().envelopes == [.tick(subscriptionIds: ["a"])])
    }

    @Test func timeoutIsATickThatSaysClosedThenAGoodbye() {
        var state = StreamConnectionState(gromox: true)
        _ = state.start(attached: ["a", "b"], errors: [])
        #expect(state.drain().envelopes == [.heartbeat])
        let (_, released) = state.timeout()
        #expect(released == ["a", "b"])
        let drained = state.drain()
        #expect(drained.envelopes == [.tick(subscriptionIds: ["a", "b"]), .closed] && drained.finish)
        let messages = GromoxStreamRenderer.render(drained.envelopes, attached: [], declarationFirst: false, pretty: false)
        #expect(messages.count == 2)
        #expect(messages[0].components(separatedBy: "<t:StatusEvent/>").count == 3)
        #expect(messages[0].hasSuffix("<m:ConnectionStatus>Closed</m:ConnectionStatus></m:GetStreamingEventsResponseMessage>"
            + "</m:ResponseMessages></m:GetStreamingEventsResponse></SOAP:Body></SOAP:Envelope>"))
        #expect(messages[1] == GromoxCaptures.goodbye)
    }

    @Test func everyDetachIsErrorInvalidSubscription() {
        var state = StreamConnectionState(gromox: true)
        _ = state.start(attached: ["a", "x"], errors: [])
        _ = state.drain()
        _ = state.detach("x", code: "ErrorSubscriptionUnsubscribed", message: "gone")
        #expect(state.drain().envelopes == [repeated])
        let (_, released) = state.closeNow()
        #expect(released == ["a"])
        let drained = state.drain()
        #expect(drained.envelopes == [.closed] && drained.finish)
    }

    @Test func aWakeListsEverySubscriptionWithAStatusEventWhereNothingHappened() {
        let event = SimEvent(kind: .newMail, time: Date(timeIntervalSince1970: 1.5), isFolder: false, id: "i",
                             parentFolderId: "p", folderScope: [1])
        let messages = GromoxStreamRenderer.render([.events(subscriptionId: "b", events: [event])], attached: ["a", "b"],
                                                   declarationFirst: true, pretty: false)
        #expect(messages.count == 1 && messages[0].hasPrefix("<?xml version=\"1.0\" encoding=\"UTF-8\"?><SOAP:Envelope "))
        #expect(messages[0].contains("<m:Notification><t:SubscriptionId>a</t:SubscriptionId><t:MoreEvents>false</t:MoreEvents>"
            + "<t:StatusEvent/></m:Notification><m:Notification><t:SubscriptionId>b</t:SubscriptionId><t:MoreEvents>false</t:MoreEvents>"
            + "<t:NewMailEvent><t:TimeStamp>1970-01-01T00:00:01.500000000Z</t:TimeStamp><t:ItemId Id=\"i\"/><t:ParentFolderId Id=\"p\"/>"
            + "</t:NewMailEvent></m:Notification>"))
    }
}
