import EWS
import Testing
@testable import Fleet
import TestSupport

/// What the stream group and the tenant tell a mailbox: up, healthy, down, refused, suspect.
@Suite struct MailboxMachineStreamTests {
    /// Subscribed here as S1, stream up, catch-up done, at t = 1.
    func listening(window: Duration = .zero) -> Machine {
        var m = machine(window: window)
        _ = m.start(persistedSubscription: nil, now: at(0))
        _ = m.subscribedListening("S1", now: at(1))
        _ = m.folderSynced("inbox", now: at(1))
        return m
    }

    let ended = MailboxFailure(action: .retryLater(EWSRetryHint(budget: .server)), code: "StreamEndedEarly",
                               message: "the server ended the stream without Closed after 0.1 s")

    @Test func statusLeavesStreamingWhileTheStreamIsDownAndReturnsWhenItIsUp() {
        var m = listening()
        #expect(m.restingStatus == .streaming)
        #expect(m.streamDown(ended, failures: 3, retryAt: at(20), wasHealthy: false, now: at(5))
            == [.status(.backingOff, nextAttempt: at(20))])
        #expect(m.failures == 3, "the group's consecutive failures")
        #expect(m.lastError == ended)
        #expect(m.streamUp(now: at(20)) == [.status(.streaming)], "after a short-lived connection: no catch-up yet")
        // Healthy again: the owed catch-up runs, and the stream error is cleared.
        #expect(m.streamHealthy(now: at(50)) == [.status(.syncing), .sync(folder: "inbox", fromScratch: false)])
        #expect(m.lastError == nil)
    }

    @Test func aHealthyConnectionThatDiesCatchesUpAsSoonAsTheNextIsUpButAtMostEveryThirtySeconds() {
        var m = listening()
        _ = m.streamDown(ended, failures: 1, retryAt: at(10), wasHealthy: true, now: at(9))
        // The last catch-up (the subscription's own) was at t = 1: the next waits until t = 31.
        #expect(m.streamUp(now: at(10)) == [.status(.streaming)])
        #expect(m.catchUpAt == at(31))
        #expect(m.tick(now: at(31)) == [.status(.syncing), .sync(folder: "inbox", fromScratch: false)])
        _ = m.folderSynced("inbox", now: at(32))
        _ = m.streamDown(ended, failures: 1, retryAt: at(100), wasHealthy: true, now: at(99))
        #expect(m.streamUp(now: at(100)) == [.status(.syncing), .sync(folder: "inbox", fromScratch: false)])
    }

    @Test func resubscribesBackOffAndEndInFailedUntilAHealthyStreamResetsThem() {
        var m = listening()
        var now = at(2)
        for attempt in 1...3 {
            let actions = m.streamFailed(failure("ErrorInvalidSubscription"), now: now)
            #expect(actions.contains(.countResubscribe(reason: "refused")))
            #expect(m.phase == .backingOff, "attempt \(attempt)")
            now = m.retryAt!
            #expect(m.tick(now: now) == [.status(.subscribing), .subscribe])
            _ = m.subscribed(id: "S\(attempt + 1)", now: now)
        }
        let last = m.streamFailed(failure("ErrorInvalidSubscription"), now: now)
        #expect(m.phase == .failed)
        guard case .status(.failed, let retry?)? = last.last else {
            Issue.record("expected failed with a rare retry: \(last)")
            return
        }
        #expect(retry >= now.advanced(by: .seconds(150)))
        #expect(m.lastError?.code == "ErrorInvalidSubscription")
        // The rare retry subscribes; a healthy stream then forgives everything.
        _ = m.tick(now: retry)
        _ = m.subscribedListening("S9", now: retry)
        _ = m.streamHealthy(now: retry.advanced(by: .seconds(30)))
        #expect(m.resubscribes.failures == 0)
    }

    @Test func syncsSucceedingDoNotForgiveRefusedSubscriptions() {
        var m = listening()
        _ = m.streamFailed(failure("ErrorInvalidSubscription"), now: at(2))
        _ = m.tick(now: m.retryAt!)
        _ = m.subscribedListening("S2", now: at(5))
        _ = m.folderSynced("inbox", now: at(5))
        #expect(m.resubscribes.failures == 1)
    }

    @Test func aSuspectIdIsReplacedAtOnceAndNeverUnsubscribed() {
        var m = listening()
        let actions = m.subscriptionSuspect("restart", now: at(3))
        #expect(actions == [.leaveGroup, .persistSubscription(nil), .countResubscribe(reason: "suspect"),
                            .status(.subscribing), .subscribe])
        #expect(!actions.contains { if case .unsubscribe = $0 { true } else { false } })
        #expect(m.resubscribes.failures == 0, "the server's restart is not this mailbox's failure")
        #expect(m.subscriptionSuspect("again", now: at(4)) == [], "nothing to replace while subscribing")
    }

    @Test func regroupingJoinsAgainWithTheSameId() {
        var m = listening()
        #expect(m.regroup(now: at(3)) == [.joinGroup("S1", established: false), .status(.subscribing)])
        #expect(m.restingStatus == .subscribing)
        #expect(m.streamUp(now: at(4)) == [.status(.streaming)])
    }

    @Test func stopLeavesTheStatusToTheSupervisor() {
        var m = listening()
        #expect(m.stop() == [.leaveGroup])
    }
}
