import Testing
@testable import Fleet
import TestSupport

/// A mailbox that finds no stream group (the identity's hanging-connection limit) is polled, and
/// joins a group as soon as one has room.
@Suite struct MailboxMachinePollingTests {
    /// Streaming with the catch-up sync done, at t = 1.
    func streaming() -> Machine {
        var m = machine()
        _ = m.start(persistedSubscription: nil, now: at(0))
        _ = m.subscribedListening("S1", now: at(1))
        _ = m.folderSynced("inbox", now: at(1))
        return m
    }

    @Test func aRefusedJoinPollsEveryIntervalAndAsksAgain() {
        var m = streaming()
        #expect(m.joinedGroup(false, now: at(1)) == [.status(.polling)])
        #expect(m.polling)
        #expect(m.nextDeadline == at(61), "the poll interval, not the 15-minute safety sync")
        #expect(m.tick(now: at(61)) == [.joinGroup("S1", established: false), .status(.syncing), .sync(folder: "inbox", fromScratch: false)])
        #expect(m.joinedGroup(false, now: at(61)) == [], "still polling: nothing new to report")
        #expect(m.folderSynced("inbox", now: at(62)) == [.status(.polling)])
        #expect(m.nextDeadline == at(121))
    }

    @Test func joiningAfterPollingCatchesUpAndStreams() {
        var m = streaming()
        _ = m.joinedGroup(false, now: at(1))
        _ = m.tick(now: at(61))
        _ = m.folderSynced("inbox", now: at(62))
        // A group had room on the next try: notifications were missed meanwhile, so sync once
        // the stream is up.
        #expect(m.joinedGroup(true, now: at(70)) == [.status(.subscribing)])
        #expect(!m.polling)
        #expect(m.streamUp(now: at(70.5)) == [.status(.syncing), .sync(folder: "inbox", fromScratch: false)])
        #expect(m.folderSynced("inbox", now: at(71)) == [.status(.streaming)])
        #expect(m.nextDeadline == at(970), "back to the safety-sync interval")
    }

    @Test func aJoinThatSucceedsAtOnceChangesNothing() {
        var m = streaming()
        #expect(m.joinedGroup(true, now: at(1)) == [])
        #expect(!m.polling)
    }

    @Test func resubscribingForgetsPolling() {
        var m = streaming()
        _ = m.joinedGroup(false, now: at(1))
        _ = m.streamFailed(failure("ErrorSubscriptionNotFound"), now: at(5))
        #expect(!m.polling)
        #expect(m.phase == .backingOff)
        #expect(m.tick(now: m.retryAt!) == [.status(.subscribing), .subscribe])
    }
}
