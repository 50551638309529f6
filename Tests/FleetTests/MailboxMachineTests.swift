import EWS
import Testing
@testable import Fleet
import TestSupport

typealias Instant = ManualClock.Instant
typealias Machine = MailboxMachine<Instant>
typealias Action = MailboxAction<Instant>

func at(_ seconds: Double) -> Instant { Instant(offset: .milliseconds(Int(seconds * 1000))) }

/// A list-mode machine whose folders' EWS ids are known (`ID-<name>`) unless `knownIDs` says otherwise;
/// an all-folders machine discovers its folders.
func machine(folders: [String] = ["inbox"], window: Duration = .seconds(2), allFolders: Bool = false,
             knownIDs: [String: String]? = nil) -> Machine {
    let ids = knownIDs ?? Dictionary(uniqueKeysWithValues: folders.map { ("ID-\($0)", $0) })
    return Machine(config: .init(folders: folders, coalescingWindow: window, safetySyncInterval: .seconds(900),
                                 backoff: RetryBackoff(initial: .seconds(1), maximum: .seconds(60), seed: 7),
                                 allFolders: allFolders, knownFolderIDs: ids))
}

func failure(_ code: String, backOffMs: Int? = nil) -> MailboxFailure {
    let xml = backOffMs.map { ["BackOffMilliseconds": String($0)] } ?? [:]
    return MailboxFailure(action: EWSActionTable.action(forCode: code, messageXML: xml).action, code: code, message: code)
}

@Suite struct MailboxMachineTests {
    @Test func coldStartSubscribesThenCatchesUpOnceTheStreamIsUp() {
        var m = machine()
        #expect(m.start(persistedSubscription: nil, now: at(0)) == [.status(.subscribing), .subscribe])
        // Not streaming until the group's connection carrying the new id brings a message.
        #expect(m.subscribed(id: "S1", now: at(1)) == [.persistSubscription("S1"), .joinGroup("S1", established: false),
                                                        .status(.subscribing)])
        #expect(m.streamUp(now: at(2)) == [.status(.syncing), .sync(folder: "inbox", fromScratch: false)])
        #expect(m.folderSynced("inbox", now: at(3)) == [.status(.streaming)])
        #expect(m.phase == .running)
    }

    @Test func aStreamThatNeverComesUpStillGetsItsCatchUpAfterTheAttachTimeout() {
        var m = machine()
        _ = m.start(persistedSubscription: nil, now: at(0))
        _ = m.subscribed(id: "S1", now: at(1))
        #expect(m.nextDeadline == at(61))
        #expect(m.tick(now: at(60)) == [])
        #expect(m.tick(now: at(61)) == [.status(.syncing), .sync(folder: "inbox", fromScratch: false)])
        #expect(m.folderSynced("inbox", now: at(62)) == [.status(.subscribing)], "still not hearing: not streaming")
    }

    @Test func warmRestartReusesThePersistedSubscription() {
        var m = machine()
        let actions = m.startListening("S9", now: at(0))
        #expect(!actions.contains(.subscribe))
        #expect(actions.contains(.joinGroup("S9", established: true)))
        #expect(actions.contains(.sync(folder: "inbox", fromScratch: false)))
    }

    @Test func notificationsCoalesceIntoOneSyncAfterTheWindow() {
        var m = machine(window: .seconds(2))
        _ = m.startListening("S", now: at(0))
        _ = m.folderSynced("inbox", now: at(0))
        #expect(m.notified(folders: ["inbox"], now: at(10)) == [])
        #expect(m.notified(folders: ["inbox"], now: at(11)) == [])
        #expect(m.nextDeadline == at(12))
        #expect(m.tick(now: at(11.9)) == [])
        #expect(m.tick(now: at(12)) == [.status(.syncing), .sync(folder: "inbox", fromScratch: false)])
        // A notification during the sync marks the folder again; it syncs right after.
        _ = m.notified(folders: ["inbox"], now: at(12.5))
        #expect(m.folderSynced("inbox", now: at(13)) == [.status(.streaming)])  // waits out the window
        #expect(m.tick(now: at(14.5)) == [.status(.syncing), .sync(folder: "inbox", fromScratch: false)])
    }

    @Test func zeroWindowSyncsImmediately() {
        var m = machine(window: .zero)
        _ = m.startListening("S", now: at(0))
        _ = m.folderSynced("inbox", now: at(0))
        #expect(m.notified(folders: nil, now: at(5)) == [.status(.syncing), .sync(folder: "inbox", fromScratch: false)])
    }

    @Test func notificationsNamingOneFolderSyncOnlyThatFolder() {
        var m = machine(folders: ["inbox", "sentitems"], window: .zero)
        _ = m.startListening("S", now: at(0))
        _ = m.folderSynced("inbox", now: at(0))
        _ = m.folderSynced("sentitems", now: at(0))
        #expect(m.notified(folders: ["sentitems"], now: at(1)) == [.status(.syncing), .sync(folder: "sentitems", fromScratch: false)])
    }

    @Test func lostSubscriptionResubscribesAndCatchesUp() {
        var m = machine()
        _ = m.startListening("S1", now: at(0))
        _ = m.folderSynced("inbox", now: at(0))
        let actions = m.streamFailed(failure("ErrorSubscriptionNotFound"), now: at(5))
        #expect(actions.prefix(3) == [.leaveGroup, .persistSubscription(nil), .countResubscribe(reason: "refused")])
        #expect(m.phase == .backingOff)
        #expect(m.tick(now: m.retryAt!) == [.status(.subscribing), .subscribe])
        let after = m.subscribedListening("S2", now: at(7))
        #expect(after.contains(.sync(folder: "inbox", fromScratch: false)))  // catch-up from kept state
    }

    @Test func missedEventsResyncWithKeptState() {
        var m = machine()
        _ = m.startListening("S1", now: at(0))
        _ = m.folderSynced("inbox", now: at(0))
        #expect(m.streamFailed(failure("ErrorMissedNotificationEvents"), now: at(3))
                == [.status(.syncing), .sync(folder: "inbox", fromScratch: false)])
        #expect(m.subscriptionID == "S1")
    }

    @Test func anotherConnectionOwningTheIdIsIgnored() {
        var m = machine()
        _ = m.startListening("S1", now: at(0))
        #expect(m.streamFailed(failure("ErrorNewEventStreamConnectionOpened"), now: at(1)) == [])
    }

    @Test func invalidSyncStateTriggersAFullResyncOfThatFolder() {
        var m = machine()
        _ = m.startListening("S1", now: at(0))
        let actions = m.folderSyncFailed("inbox", failure("ErrorInvalidSyncStateData"), now: at(1))
        #expect(actions == [.dropSyncState(folder: "inbox"), .status(.syncing), .sync(folder: "inbox", fromScratch: true)])
        _ = m.folderSynced("inbox", now: at(2))
        _ = m.notified(folders: ["inbox"], now: at(3))
        #expect(m.tick(now: at(5)).contains(.sync(folder: "inbox", fromScratch: false)))
    }

    @Test func serverBusyBacksOffAtLeastTheAdvisedTime() {
        var m = machine()
        _ = m.startListening("S1", now: at(0))
        let actions = m.folderSyncFailed("inbox", failure("ErrorServerBusy", backOffMs: 178_510), now: at(1))
        #expect(actions == [.status(.backingOff, nextAttempt: at(179.510))])
        #expect(m.tick(now: at(179)) == [])
        #expect(m.tick(now: at(179.510)) == [.status(.streaming), .status(.syncing), .sync(folder: "inbox", fromScratch: false)])
    }

    @Test func backoffGrowsAndIsCapped() {
        var b = RetryBackoff(initial: .seconds(1), maximum: .seconds(60), seed: 1)
        var previousBase = Duration.zero
        for attempt in 1...12 {
            let base = RetryBackoff.exponential(.seconds(1), attempt: attempt, cap: .seconds(60))
            let d = b.delay(attempt: attempt, serverHint: nil)
            #expect(d >= base / 2 && d <= base)
            #expect(base >= previousBase)
            previousBase = base
        }
        #expect(previousBase == .seconds(60))
        #expect(b.delay(attempt: 1, serverHint: .seconds(500)) == .seconds(500))
    }

    @Test func permissionErrorsFailAndAreRetriedRarely() {
        var m = machine()
        _ = m.start(persistedSubscription: nil, now: at(0))
        let actions = m.subscribeFailed(failure("ErrorImpersonateUserDenied"), now: at(1))
        #expect(m.phase == .failed)
        guard case .status(.failed, let next?)? = actions.last else {
            Issue.record("expected a failed status with a next attempt, got \(actions)")
            return
        }
        #expect(next >= at(1 + 150))  // failedInitial 300 s with equal jitter
        #expect(m.tick(now: next) == [.status(.subscribing), .subscribe])
    }

    @Test func boundedRetriesGiveUpAfterTheirAttempts() {
        var m = machine()
        _ = m.start(persistedSubscription: nil, now: at(0))
        var now = 1.0
        for _ in 1...EWSActionTable.transientAttempts {
            _ = m.subscribeFailed(failure("ErrorMailboxStoreUnavailable"), now: at(now))
            #expect(m.phase == .backingOff)
            now += 400
            _ = m.tick(now: at(now))
        }
        _ = m.subscribeFailed(failure("ErrorMailboxStoreUnavailable"), now: at(now))
        #expect(m.phase == .failed)
    }

    @Test func pauseUnsubscribesOnlyItsOwnIdAndResumeStartsFresh() {
        var m = machine()
        _ = m.start(persistedSubscription: nil, now: at(0))
        _ = m.subscribedListening("S1", now: at(0))
        #expect(m.pause() == [.leaveGroup, .unsubscribe("S1"), .persistSubscription(nil), .status(.paused)])
        #expect(m.notified(folders: nil, now: at(1)) == [])
        #expect(m.resume(now: at(2)) == [.status(.subscribing), .subscribe])
        // A stored id may name another mailbox's subscription after a server restart: never
        // unsubscribe it, let it expire.
        var stored = machine()
        _ = stored.startListening("S9", now: at(0))
        #expect(stored.pause() == [.leaveGroup, .persistSubscription(nil), .status(.paused)])
    }

    @Test func stopKeepsTheSubscriptionForAWarmRestart() {
        var m = machine()
        _ = m.startListening("S1", now: at(0))
        #expect(m.stop() == [.leaveGroup])
    }

    @Test func safetySyncRunsWithoutNotifications() {
        var m = machine()
        _ = m.startListening("S1", now: at(0))
        _ = m.folderSynced("inbox", now: at(1))
        #expect(m.nextDeadline == at(900))
        #expect(m.tick(now: at(900)) == [.status(.syncing), .sync(folder: "inbox", fromScratch: false)])
    }

    @Test func aRequestedResyncSyncsEveryFolderFromScratchAtOnce() {
        var m = machine(folders: ["inbox", "sentitems"])
        _ = m.startListening("S", now: at(0))
        _ = m.folderSynced("inbox", now: at(1))
        _ = m.folderSynced("sentitems", now: at(1))
        #expect(m.resyncRequested(now: at(5)) == [.status(.syncing), .sync(folder: "inbox", fromScratch: true)])
        #expect(m.folderSynced("inbox", now: at(6)) == [.status(.syncing), .sync(folder: "sentitems", fromScratch: true)])
        #expect(m.folderSynced("sentitems", now: at(7)) == [.status(.streaming)])
        var paused = machine()
        _ = paused.pause()
        #expect(paused.resyncRequested(now: at(1)) == [], "a paused mailbox reads the dropped states when it resumes")
    }
}

extension MailboxMachine {
    /// Test shorthand: start with a stored subscription id and hear from the stream group at once
    /// (the catch-up sync waits for that).
    mutating func startListening(_ id: String = "S", now: Instant) -> [MailboxAction<Instant>] {
        start(persistedSubscription: id, now: now) + streamUp(now: now)
    }

    /// Test shorthand: a new subscription whose stream comes up at once.
    mutating func subscribedListening(_ id: String, now: Instant) -> [MailboxAction<Instant>] {
        subscribed(id: id, now: now) + streamUp(now: now)
    }
}
