import EWS
import Testing
@testable import Fleet
import TestSupport

/// No retry path storms, whatever the server answers: per mailbox, at most 10 EWS requests in the
/// first minute of a failure pattern and about one per minute after five minutes, counted by the
/// simulated server. Each pattern runs from a cold start and after an hour of healthy streaming.
@Suite struct PacingTests {
    static let patterns: [PacingSimulation.ServerPattern] = [.closeAtOnceWithOK, .emptyListsThenClosed, .refuseEveryID]

    @Test(arguments: patterns)
    func aColdStartIntoAMisbehavingServerStaysPaced(_ pattern: PacingSimulation.ServerPattern) {
        var sim = PacingSimulation(mailboxes: 3, pattern: pattern)
        sim.start()
        sim.run(until: at(900))
        #expect(!sim.stalled)
        for index in 0..<3 {
            #expect(sim.count(index, from: 0, to: 60) <= 10, "first minute: \(sim.requests[index].prefix(12))")
            // After five minutes: a reconnect (and, rarely, a resubscribe) every few minutes.
            let late = sim.count(index, from: 300, to: 900)
            #expect(late <= 10, "minutes 5–15: \(late) requests")
            #expect(sim.maxPerMinute(index, from: 300, to: 840) <= 2)
        }
    }

    @Test(arguments: patterns)
    func aServerThatTurnsBadAfterAnHourStaysPaced(_ pattern: PacingSimulation.ServerPattern) {
        var sim = PacingSimulation(mailboxes: 3, pattern: .healthy)
        sim.start()
        sim.run(until: at(3600))
        let before = (0..<3).map { sim.count($0, from: 0, to: 3600) }
        sim.pattern = pattern
        // The next reopen meets the bad server: the connection lives to its 30-minute timeout.
        sim.run(until: at(3600 + 2400))
        #expect(!sim.stalled)
        for index in 0..<3 {
            #expect(before[index] <= 12, "an hour of healthy streaming: \(sim.requests[index].prefix(14))")
            let firstBad = sim.requests[index].first { $0.at > at(3600 + 1) && $0.operation == "GetStreamingEvents" }?.at
            guard let start = firstBad else {
                Issue.record("the server never met a reopen")
                continue
            }
            let t0 = Double(start.offset.components.seconds)
            #expect(sim.count(index, from: t0, to: t0 + 60) <= 10)
            #expect(sim.count(index, from: t0 + 300, to: t0 + 900) <= 10)
        }
    }

    @Test func aHealthyServerCostsNoRequestsBetweenSafetySyncs() {
        var sim = PacingSimulation(mailboxes: 2, pattern: .healthy)
        sim.start()
        sim.run(until: at(1799))
        for index in 0..<2 {
            // Subscribe, GetStreamingEvents, the catch-up sync, the safety sync at 15 minutes.
            #expect(sim.requests[index].map(\.operation)
                == ["Subscribe", "GetStreamingEvents", "SyncFolderItems", "SyncFolderItems"])
            #expect(sim.mailboxes[index].restingStatus == .streaming)
        }
    }

    @Test func aServerRefusingEveryIdEndsInFailedWithTheLastError() {
        var sim = PacingSimulation(mailboxes: 2, pattern: .refuseEveryID)
        sim.start()
        sim.run(until: at(120))
        for index in 0..<2 {
            #expect(sim.mailboxes[index].phase == .failed)
            #expect(sim.mailboxes[index].lastError?.code == "ErrorInvalidSubscription")
            let subscribes = sim.requests[index].filter { $0.operation == "Subscribe" }.count
            #expect(subscribes == 4, "one subscribe and three resubscribes")
        }
    }
}
