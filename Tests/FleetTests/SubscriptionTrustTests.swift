import Testing
@testable import Fleet
import TestSupport

typealias Trust = SubscriptionTrust<Instant>

/// Which subscription ids stay trusted after refusals, reused ids and unreachable servers.
@Suite struct SubscriptionTrustTests {
    /// Ten mailboxes with stored ids S0…S9 on server "x".
    func tenStored() -> Trust {
        var trust = Trust()
        for i in 0..<10 {
            trust.loaded(mailboxID: Int64(i), id: "S\(i)", server: nil)
            trust.joined(mailboxID: Int64(i), server: "x")
        }
        return trust
    }

    @Test func halfTheStoredIdsRefusedWithinAMinuteMakesEveryStoredIdSuspect() {
        var trust = tenStored()
        #expect(trust.refused((0..<4).map { ("S\($0)", true) }, server: "x", now: at(0)) == nil, "4 of 10: not yet")
        let verdict = trust.refused([("S4", true)], server: "x", now: at(30))
        // Accepted ones too: after a restart they may name other subscriptions.
        #expect(verdict?.mailboxIDs == Array(5..<10).map(Int64.init))
        #expect(verdict?.reason.contains("5 of 10") == true)
        #expect(trust.records.keys.sorted() == [0, 1, 2, 3, 4], "suspects are forgotten until they subscribe again")
    }

    @Test func refusalsSpreadOverMoreThanAMinuteAreNotARestart() {
        var trust = tenStored()
        for i in 0..<5 {
            let verdict = trust.refused([("S\(i)", true)], server: "x", now: at(Double(i) * 61))
            #expect(verdict == nil)
        }
    }

    @Test func freshIdsRefusedAreNotEvidenceOfARestart() {
        var trust = tenStored()
        #expect(trust.refused((0..<8).map { ("N\($0)", false) }, server: "x", now: at(0)) == nil)
    }

    @Test func aSubscribeThatReturnsAnotherMailboxsIdProvesThatIdStale() {
        var trust = tenStored()
        // Without impersonation every subscription is the service account's: our own resubscribe
        // after a restart can be handed an id another mailbox still holds.
        let stale = trust.subscribed(mailboxID: 3, id: "S7")
        #expect(stale == .init(server: nil, mailboxIDs: [7], reason: "the server handed its id to another mailbox"))
        #expect(trust.records[3]?.id == "S7")
        #expect(trust.records[7] == nil)
        #expect(trust.subscribed(mailboxID: 3, id: "S7") == nil, "its own id again is fine")
    }

    @Test func foreignEventsCountAsARefusal() {
        var trust = Trust()
        for i in 1...2 {
            trust.loaded(mailboxID: Int64(i), id: "S\(i)", server: nil)
            trust.joined(mailboxID: Int64(i), server: "x")
        }
        // Mailbox 1 replaces its own id; one of two stored ids wrong means the other is suspect too.
        #expect(trust.foreignEvents(mailboxID: 1, now: at(0))?.mailboxIDs == [2])
    }

    @Test func aServerThatRefusedConnectionsAndCameBackRestarted() {
        var trust = tenStored()
        _ = trust.subscribed(mailboxID: 20, id: "N1")
        trust.joined(mailboxID: 20, server: "x")
        #expect(trust.reachable(server: "x") == nil, "reachable all along: nothing")
        trust.unreachable(server: "x", now: at(0))
        let verdict = trust.reachable(server: "x")
        #expect(verdict?.mailboxIDs == Array(0..<10).map(Int64.init), "every established id, not the fresh one")
        #expect(trust.reachable(server: "x") == nil)
    }

    @Test func groupingIsGivenUpAfterTwoGroupedConnectionsRefuseFreshMembersButNotTheAnchor() {
        var trust = Trust()
        let sent = ["A": member(1, established: true), "B": member(2)]
        #expect(!refuse(&trust, sent: sent, refused: ["B": "ErrorInvalidSubscription"], anchorID: "A"))
        // The anchor refused too: a restart or an expiry, not grouping.
        #expect(!refuse(&trust, sent: sent, refused: ["A": "x", "B": "x"], anchorID: "A"))
        // Only established members refused: not a grouping rule either.
        #expect(!refuse(&trust, sent: ["A": member(1), "B": member(2, established: true)], refused: ["B": "x"], anchorID: "A"))
        #expect(refuse(&trust, sent: sent, refused: ["B": "ErrorInvalidSubscription"], anchorID: "A"))
    }
}

/// Calls a mutating method outside `#expect` (the macro cannot mutate its subject).
func refuse(_ trust: inout Trust, sent: [String: GroupMachine.Member], refused: [String: String], anchorID: String?) -> Bool {
    trust.groupingRefused(sent: sent, refused: refused, anchorID: anchorID)
}

@Suite struct RetryPacerTests {
    @Test func failuresGrowUntilTheBoundThenRetryRarelyAndSuccessResets() {
        var pacer = RetryPacer(.init(initial: .seconds(1), maximum: .seconds(60), failedInitial: .seconds(300),
                                     failedMaximum: .seconds(3600), maxAttempts: 3), seed: 9)
        for attempt in 1...3 {
            guard case .retry(let delay) = pacer.failed() else {
                Issue.record("attempt \(attempt) should retry")
                return
            }
            let base = RetryBackoff.exponential(.seconds(1), attempt: attempt, cap: .seconds(60))
            #expect(delay >= base / 2 && delay <= base)
        }
        guard case .gaveUp(let rare) = pacer.failed() else {
            Issue.record("the fourth failure gives up")
            return
        }
        #expect(rare >= .seconds(150))
        #expect(pacer.hasGivenUp)
        pacer.succeeded()
        #expect(pacer.failures == 0)
        #expect(pacer.failed(hint: .seconds(90)) == .retry(after: .seconds(90)), "advice is a floor")
    }
}

@Suite struct LogThrottleTests {
    @Test func oneLinePerCausePerIntervalCountingTheRest() {
        var logs = LogThrottle<Instant>(interval: .seconds(30))
        #expect(logs.allow("a", now: at(0)) == 0)
        #expect(logs.allow("a", now: at(1)) == nil)
        #expect(logs.allow("b", now: at(2)) == 0)
        #expect(logs.allow("a", now: at(29)) == nil)
        #expect(logs.allow("a", now: at(30)) == 2)
    }
}
