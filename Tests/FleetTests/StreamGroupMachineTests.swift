import EWS
import Testing
@testable import Fleet
import TestSupport

typealias GroupMachine = StreamGroupMachine<Instant>

func member(_ id: Int64, established: Bool = false) -> GroupMachine.Member {
    GroupMachine.Member(mailboxID: id, smtpAddress: "m\(id)@t.example", established: established)
}

extension StreamGroupMachine.Action {
    var openedIDs: [String]? {
        if case .open(_, let ids, _) = self { return ids }
        return nil
    }
}

/// The connection lifecycle of one stream group, in virtual time.
@Suite struct StreamGroupMachineTests {
    /// A group with members A (1) and B (2), gate open, whose first connection is open at t = 1.
    func connected() -> (GroupMachine, generation: Int) {
        var g = GroupMachine(gateOpen: true, seed: 1)
        _ = g.join(id: "A", member: member(1), now: at(0))
        _ = g.join(id: "B", member: member(2), now: at(0))
        let actions = g.tick(now: at(1))
        #expect(actions.compactMap(\.openedIDs) == [["A", "B"]])
        _ = g.opened(generation: 1, now: at(1))
        return (g, 1)
    }

    @Test func joinsAreBatchedIntoOneOpen() {
        var g = GroupMachine(gateOpen: true, seed: 1)
        #expect(g.join(id: "A", member: member(1), now: at(0)) == [])
        #expect(g.join(id: "B", member: member(2), now: at(0.5)) == [])
        #expect(g.nextDeadline == at(1.5), "1 s after the last join")
        #expect(g.tick(now: at(1.5)) == [.open(generation: 1, ids: ["A", "B"], anchor: "m1@t.example")])
    }

    @Test func aSteadyTrickleOfJoinsStillOpensWithinTheMaximumDelay() {
        var g = GroupMachine(gateOpen: true, seed: 1)
        var openedAt: [Double] = []
        for i in 0..<30 {
            let t = Double(i) * 0.5
            if g.join(id: "S\(i)", member: member(Int64(i)), now: at(t)).contains(where: { $0.openedIDs != nil }) {
                openedAt.append(t)
            }
        }
        #expect(openedAt == [10], "at most 10 s after the first join")
    }

    @Test func theStartUpGateHoldsEveryOpenUntilItOpens() {
        var g = GroupMachine(gateOpen: false, seed: 1)
        _ = g.join(id: "A", member: member(1), now: at(0))
        #expect(g.tick(now: at(30)) == [])
        #expect(g.nextDeadline == nil)
        #expect(g.openGate(now: at(31)).compactMap(\.openedIDs) == [["A"]])
    }

    @Test func aJoinToAnOpenConnectionReopensOnceForTheBatchWithoutAFailure() {
        var (g, _) = connected()
        _ = g.received(.heartbeat, generation: 1, now: at(1))
        #expect(g.join(id: "C", member: member(3), now: at(5)) == [])
        #expect(g.join(id: "D", member: member(4), now: at(5.2)) == [])
        #expect(g.tick(now: at(6.2)) == [.reopening(reason: .membership, failure: nil, delay: .zero), .cancel(generation: 1)])
        #expect(g.ended(generation: 1, .cancelled, now: at(6.3)).compactMap(\.openedIDs) == [["A", "B", "C", "D"]])
        #expect(g.failures == 0)
    }

    @Test func aConnectionEndedBeforeItsFirstHeartbeatIsAFailureWhateverTheEnding() {
        for ending in [GroupMachine.Ending.endOfStream, .cancelled] {
            var (g, _) = connected()
            let actions = g.ended(generation: 1, ending, now: at(1.2))
            guard case .reopening(.shortLived, let failure?, let delay)? = actions.first else {
                Issue.record("expected a short-lived failure, got \(actions)")
                continue
            }
            #expect(failure.code == "StreamEndedEarly")
            #expect(failure.message.contains("before its first heartbeat"))
            #expect(delay >= .seconds(1) && delay <= .seconds(2), "attempt 1 of 2 s, equal jitter")
            #expect(actions.contains { if case .down([1, 2], _, 1, _, false) = $0 { true } else { false } })
            #expect(g.tick(now: at(1.2)) == [], "nothing before the back-off ends")
        }
    }

    @Test func aClosedAfterAHeartbeatButBeforeThirtySecondsIsAFailureToo() {
        var (g, _) = connected()
        _ = g.received(.heartbeat, generation: 1, now: at(1))
        #expect(g.received(.closed, generation: 1, now: at(3)) == [], "read on: the end of the body makes it final")
        let actions = g.ended(generation: 1, .endOfStream, now: at(3))
        #expect(actions.first.map { if case .reopening(.shortLived, _, _) = $0 { true } else { false } } == true)
        #expect(g.failures == 1)
    }

    @Test func failuresBackOffExponentiallyAndAHealthyConnectionResetsThem() {
        var (g, _) = connected()
        var now = at(1)
        var generation = 1
        var delays: [Duration] = []
        for _ in 0..<6 {
            let actions = g.ended(generation: generation, .endOfStream, now: now)
            guard case .reopening(_, _, let delay)? = actions.first else {
                Issue.record("no reopen: \(actions)")
                return
            }
            delays.append(delay)
            now = now.advanced(by: delay)
            generation += 1
            #expect(g.tick(now: now).compactMap(\.openedIDs) == [["A", "B"]])
            _ = g.opened(generation: generation, now: now)
        }
        for (i, delay) in delays.enumerated() {
            let base = RetryBackoff.exponential(.seconds(2), attempt: i + 1, cap: .seconds(300))
            #expect(delay >= base / 2 && delay <= base)
        }
        // A connection that lives 30 s with messages is healthy: the members' subscriptions work.
        _ = g.received(.heartbeat, generation: generation, now: now)
        let healthy = g.received(.heartbeat, generation: generation, now: now.advanced(by: .seconds(30)))
        #expect(healthy.contains(.healthy([1, 2])))
        #expect(g.failures == 0)
        #expect(g.members["A"]?.established == true)
    }

    @Test func aHealthyConnectionEndingWithClosedReopensAtOnce() {
        var (g, _) = connected()
        _ = g.received(.heartbeat, generation: 1, now: at(1))
        _ = g.received(.heartbeat, generation: 1, now: at(40))
        _ = g.received(.closed, generation: 1, now: at(1801))
        let actions = g.ended(generation: 1, .endOfStream, now: at(1801))
        #expect(actions.first == .reopening(reason: .serverClosed, failure: nil, delay: .zero))
        #expect(actions.compactMap(\.openedIDs) == [["A", "B"]])
        #expect(!actions.contains { if case .down = $0 { true } else { false } }, "status stays streaming")
    }

    @Test func aHealthyConnectionThatDiesIsAFirstFailure() {
        var (g, _) = connected()
        _ = g.received(.heartbeat, generation: 1, now: at(1))
        _ = g.received(.heartbeat, generation: 1, now: at(46))
        let actions = g.ended(generation: 1, .failed(MailboxFailure(action: .retryBounded(maxAttempts: 5, then: .giveUp),
                                                                  code: "HTTP timedOut", message: "idle")), now: at(136))
        #expect(actions.first.map { if case .reopening(.ended, _, let d) = $0 { d <= .seconds(2) } else { false } } == true)
        #expect(g.failures == 1)
    }

    @Test func anAdvisedBackOffIsAFloor() {
        var (g, _) = connected()
        let busy = failure("ErrorServerBusy", backOffMs: 90_000)
        let actions = g.ended(generation: 1, .failed(busy), now: at(1))
        #expect(actions.first == .reopening(reason: .shortLived, failure: busy, delay: .seconds(90)))
        #expect(g.retryAt == at(91))
    }

    @Test func successMessagesWithNothingInThemAreHeartbeats() {
        // gromox: empty Notifications and ErrorSubscriptionIds in every successful message.
        var (g, _) = connected()
        #expect(g.received(.heartbeat, generation: 1, now: at(1)) == [.up([1, 2]), .touch(heartbeat: [1, 2], events: [])])
        #expect(g.received(.heartbeat, generation: 1, now: at(2)) == [.touch(heartbeat: [1, 2], events: [])])
    }

    /// A connection of one id that brings a Success message proves the server holds that id: it is
    /// established at once, so a server restart within 30 s that refuses it (or hands it to another
    /// subscription) is noticed. Several ids wait for `healthy`: a server that binds subscriptions
    /// to the impersonated user may still refuse the fresh ones, which is no restart evidence.
    @Test func aLoneIdIsEstablishedByItsFirstSuccessMessageAGroupOnlyWhenHealthy() {
        var alone = GroupMachine(gateOpen: true, seed: 1)
        _ = alone.join(id: "A", member: member(1), now: at(0))
        _ = alone.tick(now: at(1))
        _ = alone.opened(generation: 1, now: at(1))
        #expect(alone.received(.heartbeat, generation: 1, now: at(1.1))
            == [.up([1]), .accepted([1]), .touch(heartbeat: [1], events: [])])
        #expect(alone.members["A"]?.established == true)
        let refused = StreamingSubscriptionError(
            status: EWSResponseStatus(responseClass: .error, responseCode: "ErrorInvalidSubscription"), subscriptionIDs: ["A"])
        #expect(alone.received(.error(refused), generation: 1, now: at(5)).contains(
            .refusals(.init(sent: ["A": member(1, established: true)], refused: ["A": "ErrorInvalidSubscription"], anchorID: "A"))))

        var (g, _) = connected()
        let first = g.received(.heartbeat, generation: 1, now: at(1.1))
        #expect(!first.contains { if case .accepted = $0 { true } else { false } })
        #expect(g.members["A"]?.established == false)
        #expect(g.received(.heartbeat, generation: 1, now: at(31)).contains(.healthy([1, 2])))
        #expect(g.members["A"]?.established == true)

        // An id already established is not reported again.
        var known = GroupMachine(gateOpen: true, seed: 1)
        _ = known.join(id: "K", member: member(3, established: true), now: at(0))
        _ = known.tick(now: at(1))
        _ = known.opened(generation: 1, now: at(1))
        #expect(known.received(.heartbeat, generation: 1, now: at(1.1)) == [.up([3]), .touch(heartbeat: [3], events: [])])
    }

    @Test func refusedIdsLeaveTheGroupAndAreReportedWithWhatWasSent() {
        var g = GroupMachine(gateOpen: true, seed: 1)
        _ = g.join(id: "A", member: member(1, established: true), now: at(0))
        _ = g.join(id: "B", member: member(2), now: at(0))
        _ = g.tick(now: at(1))
        _ = g.opened(generation: 1, now: at(1))
        let error = StreamingSubscriptionError(
            status: EWSResponseStatus(responseClass: .error, responseCode: "ErrorInvalidSubscription"), subscriptionIDs: ["B"])
        let actions = g.received(.error(error), generation: 1, now: at(1.1))
        #expect(actions.first == .subscriptionError(mailboxID: 2, failure: failure("ErrorInvalidSubscription")))
        #expect(actions.contains(.refusals(.init(sent: ["A": member(1, established: true), "B": member(2)],
                                                 refused: ["B": "ErrorInvalidSubscription"], anchorID: "A"))))
        #expect(g.members.keys.sorted() == ["A"])
        // Missed events keep the subscription on the connection.
        let missed = StreamingSubscriptionError(
            status: EWSResponseStatus(responseClass: .error, responseCode: "ErrorMissedNotificationEvents"), subscriptionIDs: ["A"])
        #expect(g.received(.error(missed), generation: 1, now: at(2))
            == [.subscriptionError(mailboxID: 1, failure: failure("ErrorMissedNotificationEvents"))])
        #expect(g.members.keys.sorted() == ["A"])
    }

    @Test func aClosedInTheMessageThatRefusesSomeIdsIsNotTheEnd() {
        // gromox: "ErrorInvalidSubscription … Closed" for the refused ids, then it streams on.
        var (g, _) = connected()
        let error = StreamingSubscriptionError(
            status: EWSResponseStatus(responseClass: .error, responseCode: "ErrorInvalidSubscription"), subscriptionIDs: ["B"])
        _ = g.received(.error(error), generation: 1, now: at(1))
        #expect(g.received(.closed, generation: 1, now: at(1)) == [])
        let note = SubscriptionNotification(subscriptionID: "A", events: [StreamingEvent(kind: .newMail)])
        #expect(g.received(.notifications([note]), generation: 1, now: at(8))
            == [.up([1]), .accepted([1]), .activity(mailboxID: 1, events: note.events), .touch(heartbeat: [], events: [1])])
        #expect(g.isConnected)
    }

    @Test func aConnectionWhoseEveryIdIsRefusedIsClosedAndTheNextOpenIsPaced() {
        var (g, _) = connected()
        let error = StreamingSubscriptionError(
            status: EWSResponseStatus(responseClass: .error, responseCode: "ErrorInvalidSubscription"), subscriptionIDs: ["A", "B"])
        #expect(g.received(.error(error), generation: 1, now: at(1.1)).contains(.cancel(generation: 1)) == false)
        #expect(g.tick(now: at(1.1)) == [.cancel(generation: 1)], "nobody left to hear")
        let ended = g.ended(generation: 1, .cancelled, now: at(1.2))
        #expect(ended.first.map { if case .reopening(.shortLived, nil, _) = $0 { true } else { false } } == true)
        // The members resubscribe and join again: the open waits for the back-off.
        _ = g.join(id: "A2", member: member(1), now: at(1.3))
        #expect(g.tick(now: at(2.3)) == [])
        #expect(g.failures == 1)
    }

    @Test func onlyRefusalsThatLoseTheSubscriptionAreReportedAsRefusals() {
        // Another connection took the id (ErrorNewEventStreamConnectionOpened): the member leaves
        // this connection, but the server has not forgotten the id, so it is no restart evidence.
        var (g, _) = connected()
        let moved = StreamingSubscriptionError(
            status: EWSResponseStatus(responseClass: .error, responseCode: "ErrorNewEventStreamConnectionOpened"),
            subscriptionIDs: ["B"])
        let actions = g.received(.error(moved), generation: 1, now: at(2))
        #expect(!actions.contains { if case .refusals = $0 { true } else { false } })
        #expect(g.members.keys.sorted() == ["A"])
    }

    @Test func theLastMemberLeavingClosesTheConnectionWithoutAReopen() {
        var (g, _) = connected()
        #expect(g.leave(mailboxID: 1, now: at(2)) == [])
        #expect(g.leave(mailboxID: 2, now: at(3)) == [.cancel(generation: 1)])
        #expect(g.ended(generation: 1, .cancelled, now: at(3)) == [])
        #expect(g.nextDeadline == nil)
    }

    @Test func eventsForIdsNoLongerOursAreIgnored() {
        var (g, _) = connected()
        _ = g.leave(mailboxID: 2, now: at(2))
        let note = SubscriptionNotification(subscriptionID: "B", events: [StreamingEvent(kind: .newMail)])
        #expect(g.received(.notifications([note]), generation: 1, now: at(3))
            == [.up([1]), .touch(heartbeat: [], events: [])])
    }

    @Test func aMailboxThatJoinsWithANewIdReplacesItsOldOne() {
        var (g, _) = connected()
        _ = g.join(id: "B2", member: member(2), now: at(5))
        #expect(g.members.keys.sorted() == ["A", "B2"])
    }
}
