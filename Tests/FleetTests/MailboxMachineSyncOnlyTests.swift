import EWS
import Testing
@testable import Fleet
import TestSupport

/// Sync-only mode: no subscription; each folder is synced from its SyncState every poll interval,
/// at the mailbox's own offset within it.
@Suite struct MailboxMachineSyncOnlyTests {
    func syncOnly(folders: [String] = ["inbox"], offset: Double = 10, allFolders: Bool = false) -> Machine {
        var config = machine(folders: folders, allFolders: allFolders, knownIDs: [:]).config
        config.syncOnly = true
        config.pollInterval = .seconds(60)
        config.scheduleOffset = .milliseconds(Int(offset * 1000))
        return Machine(config: config)
    }

    /// Nothing a subscription-based mailbox does: no Subscribe, no group, no GetFolder.
    func subscribesNothing(_ actions: [MailboxAction<Instant>]) -> Bool {
        !actions.contains { action in
            switch action {
            case .subscribe, .joinGroup, .unsubscribe, .resolveFolders, .countResubscribe: true
            default: false
            }
        }
    }

    @Test func syncsEveryFolderAtItsOffsetThenEveryIntervalAndSubscribesNothing() {
        var m = syncOnly(folders: ["inbox", "sentitems"])
        let started = m.start(persistedSubscription: nil, now: at(0))
        #expect(started == [.status(.scheduled, nextAttempt: at(10))])
        #expect(m.nextDeadline == at(10), "the first sync waits for the mailbox's slot")
        var all = started
        for round in 0..<3 {
            let t = 10 + 60 * Double(round)
            let tick = m.tick(now: at(t))
            #expect(tick == [.status(.syncing), .sync(folder: "inbox", fromScratch: false)])
            let next = m.folderSynced("inbox", now: at(t + 1))
            #expect(next == [.status(.syncing), .sync(folder: "sentitems", fromScratch: false)])
            let done = m.folderSynced("sentitems", now: at(t + 2))
            #expect(done == [.status(.scheduled, nextAttempt: at(t + 60))], "between syncs: scheduled, with the next sync")
            #expect(m.nextDeadline == at(t + 60))
            all += tick + next + done
        }
        #expect(subscribesNothing(all))
    }

    @Test func aSubscriptionKeptFromNotificationModeIsForgottenNotUnsubscribed() {
        var m = syncOnly(offset: 0)
        let actions = m.start(persistedSubscription: "S-old", now: at(0))
        #expect(actions == [.persistSubscription(nil), .status(.scheduled, nextAttempt: at(0)),
                            .status(.syncing), .sync(folder: "inbox", fromScratch: false)])
        #expect(m.subscriptionID == nil)
    }

    @Test func aPollThatRunsLateKeepsItsSlot() {
        var m = syncOnly()
        _ = m.start(persistedSubscription: nil, now: at(0))
        _ = m.tick(now: at(10))
        // The sync took 85 s: the 70 s slot passed meanwhile. The overdue poll runs now, and the
        // next one goes back to the mailbox's slot (130), not to 95 + 60.
        #expect(m.folderSynced("inbox", now: at(95)) == [.status(.scheduled, nextAttempt: at(70))])
        #expect(m.tick(now: at(95)) == [.status(.syncing), .sync(folder: "inbox", fromScratch: false)])
        #expect(m.nextSafetySyncAt == at(130))
    }

    @Test func aThrottledSyncBacksOffAsAdvisedAndRetriesTheSyncNeverASubscribe() {
        var m = syncOnly(offset: 0)
        _ = m.start(persistedSubscription: nil, now: at(0))
        let busy = m.folderSyncFailed("inbox", failure("ErrorServerBusy", backOffMs: 5000), now: at(1))
        #expect(busy == [.status(.backingOff, nextAttempt: at(6))])
        #expect(m.tick(now: at(5.9)) == [], "not before the advised back-off ends")
        let retry = m.tick(now: at(6))
        #expect(retry.contains(.sync(folder: "inbox", fromScratch: false)))
        #expect(subscribesNothing(busy + retry))
    }

    @Test func aMailboxThatKeepsFailingEndsInFailedAndIsStillRetriedBySyncing() {
        var m = syncOnly(offset: 0)
        _ = m.start(persistedSubscription: nil, now: at(0))
        let hopeless = MailboxFailure(action: .giveUp, code: "ErrorAccessDenied", message: "no")
        let gaveUp = m.folderSyncFailed("inbox", hopeless, now: at(1))
        #expect(m.phase == .failed)
        guard case .status(.failed, let next?) = gaveUp.last else {
            Issue.record("expected failed with a next attempt, got \(gaveUp)")
            return
        }
        #expect(next > at(1), "paced")
        let retry = m.tick(now: next)
        #expect(retry.contains(.sync(folder: "inbox", fromScratch: false)))
        #expect(subscribesNothing(gaveUp + retry))
    }

    @Test func aVanishedFolderOfTheListIsRetriedWithPacingNotResubscribed() {
        var m = syncOnly(offset: 0)
        _ = m.start(persistedSubscription: nil, now: at(0))
        let missing = MailboxFailure(action: .refreshFolderHierarchy, code: "ErrorFolderNotFound", message: "gone")
        let actions = m.folderSyncFailed("inbox", missing, now: at(1))
        #expect(m.phase == .backingOff)
        #expect(subscribesNothing(actions))
        #expect(m.retryAt.map { $0 > at(1) } == true)
    }

    @Test func allFoldersModeRefreshesTheHierarchyEachPoll() {
        var m = syncOnly(folders: [], offset: 0, allFolders: true)
        let actions = m.start(persistedSubscription: nil, now: at(0))
        #expect(actions == [.status(.scheduled, nextAttempt: at(0)), .status(.syncing), .refreshHierarchy])
    }

    @Test func pauseResumeAndResyncStaySubscriptionFree() {
        var m = syncOnly()
        _ = m.start(persistedSubscription: nil, now: at(0))
        let paused = m.pause()
        #expect(paused == [.leaveGroup, .status(.paused)])
        let resumed = m.resume(now: at(100))
        #expect(resumed == [.status(.scheduled, nextAttempt: at(110))])
        let resync = m.resyncRequested(now: at(101))
        #expect(resync == [.status(.syncing), .sync(folder: "inbox", fromScratch: true)])
        #expect(subscribesNothing(paused + resumed + resync))
    }
}

@Suite struct SyncScheduleTests {
    @Test(arguments: [1, 2])
    func consecutiveMailboxesSpreadEvenlyOverTheInterval(step: Int64) {
        // 1,000 mailboxes with consecutive ids (step 1), or a tenant's every other id (step 2):
        // each second of a 60 s interval gets 1000/60 ≈ 16.7 syncs, never a herd.
        var perSecond = [Int](repeating: 0, count: 60)
        for i in 0..<Int64(1000) {
            let offset = SyncSchedule.offset(mailboxID: 1 + i * step, interval: .seconds(60))
            #expect(offset >= .zero && offset < .seconds(60))
            perSecond[Int(offset / .seconds(1))] += 1
        }
        #expect(perSecond.min()! >= 14 && perSecond.max()! <= 20, "\(perSecond)")
    }

    @Test func theOffsetIsStable() {
        #expect(SyncSchedule.offset(mailboxID: 42, interval: .seconds(60)) == SyncSchedule.offset(mailboxID: 42, interval: .seconds(60)))
        #expect(SyncSchedule.offset(mailboxID: 42, interval: .seconds(60)) != SyncSchedule.offset(mailboxID: 43, interval: .seconds(60)))
    }

    @Test func theNextSlotIsTheFirstAfterNowOnTheGrid() {
        #expect(SyncSchedule.slot(after: at(10), from: at(10), every: .seconds(60)) == at(70))
        #expect(SyncSchedule.slot(after: at(69.9), from: at(10), every: .seconds(60)) == at(70))
        #expect(SyncSchedule.slot(after: at(70), from: at(10), every: .seconds(60)) == at(130))
        #expect(SyncSchedule.slot(after: at(250), from: at(10), every: .seconds(60)) == at(310))
    }
}
