import EWS
import Testing
@testable import Fleet
import TestSupport

/// Folder ids in notifications, list-mode id resolution, and all-folders hierarchy discovery.
@Suite struct MailboxMachineFolderTests {
    static let directory = FolderDirectory(folders: ["inbox", "F1"], keysByID: ["ID-inbox": "inbox", "F1": "F1"],
                                           ignoredIDs: ["ID-calendar"])

    /// An all-folders machine that has streamed, discovered `directory` and synced every folder.
    func discovered(window: Duration = .zero) -> Machine {
        var m = machine(folders: [], window: window, allFolders: true)
        _ = m.startListening("S", now: at(0))
        _ = m.hierarchyRefreshed(Self.directory, now: at(0))
        _ = m.folderSynced("inbox", now: at(0))
        _ = m.folderSynced("F1", now: at(0))
        return m
    }

    func streaming(_ folders: [String], knownIDs: [String: String]? = nil) -> Machine {
        var m = machine(folders: folders, window: .zero, knownIDs: knownIDs)
        _ = m.startListening("S", now: at(0))
        for folder in folders { _ = m.folderSynced(folder, now: at(0)) }
        return m
    }

    // MARK: list mode

    @Test func aNotificationMarksOnlyTheFolderWhoseIdItNames() {
        var m = streaming(["inbox", "sentitems"])
        #expect(m.notified(FolderActivity(folderIDs: ["ID-sentitems"]), now: at(1))
            == [.status(.syncing), .sync(folder: "sentitems", fromScratch: false)])
        #expect(m.folderSynced("sentitems", now: at(1)) == [.status(.streaming)])
        #expect(m.dirty.isEmpty)
    }

    @Test func anUnknownFolderIdIsNotWatchedOnceAllIdsAreKnown() {
        var m = streaming(["inbox", "sentitems"])
        // A move from inbox to a folder we do not watch: only inbox is synced.
        #expect(m.notified(FolderActivity(folderIDs: ["ID-projects", "ID-inbox"]), now: at(1))
            == [.status(.syncing), .sync(folder: "inbox", fromScratch: false)])
        _ = m.folderSynced("inbox", now: at(1))
        #expect(m.dirty.isEmpty)
        #expect(m.nextDeadline == at(900))  // nothing scheduled but the safety sync
    }

    @Test func eventsNamingNoWatchedFolderMeanTheIdIsNotOurs() {
        // After a server restart the stored id may name another subscription (gromox reuses ids).
        var m = streaming(["inbox", "sentitems"])
        #expect(m.notified(FolderActivity(folderIDs: ["ID-projects"]), now: at(1))
            == [.reportForeignEvents("S"), .leaveGroup, .persistSubscription(nil), .countResubscribe(reason: "suspect"),
                .status(.subscribing), .subscribe])
        #expect(m.phase == .subscribing)
        #expect(m.lastError?.code == "SubscriptionSuspect")
    }

    @Test func aFolderLevelModifiedOfAWatchedFolderSyncsIt() {
        // gromox reports reads, moves out and deletes on a one-folder subscription only this way.
        var m = streaming(["inbox", "sentitems"])
        #expect(m.notified(FolderActivity(modifiedFolderIDs: ["ID-sentitems"], namedFolderIDs: ["ID-sentitems", "ROOT"]),
                           now: at(1)) == [.status(.syncing), .sync(folder: "sentitems", fromScratch: false)])
        _ = m.folderSynced("sentitems", now: at(1))
        // Of a folder we do not watch (with a watched one named): noise.
        #expect(m.notified(FolderActivity(modifiedFolderIDs: ["ID-projects"], namedFolderIDs: ["ID-projects", "ID-inbox"]),
                           now: at(2)) == [])
        var single = streaming(["inbox"])
        #expect(single.notified(FolderActivity(modifiedFolderIDs: ["ID-inbox"], namedFolderIDs: ["ID-inbox", "ROOT"]),
                                now: at(1)) == [.status(.syncing), .sync(folder: "inbox", fromScratch: false)])
    }

    @Test func untilIdsAreResolvedAnUnknownIdMarksEveryFolder() {
        var m = machine(folders: ["inbox", "sentitems"], window: .zero, knownIDs: [:])
        let start = m.startListening("S", now: at(0))
        #expect(start.contains(.resolveFolders(["inbox", "sentitems"])))
        _ = m.folderSynced("inbox", now: at(0))
        _ = m.folderSynced("sentitems", now: at(0))
        #expect(m.notified(FolderActivity(folderIDs: ["X"]), now: at(1)) == [.status(.syncing), .sync(folder: "inbox", fromScratch: false)])
        #expect(m.dirty == ["sentitems"])
        _ = m.folderSynced("inbox", now: at(1))
        _ = m.folderSynced("sentitems", now: at(1))
        _ = m.foldersResolved(["X": "inbox", "Y": "sentitems"])
        #expect(m.notified(FolderActivity(folderIDs: ["Z", "X"]), now: at(2)) == [.status(.syncing), .sync(folder: "inbox", fromScratch: false)])
        _ = m.folderSynced("inbox", now: at(2))
        #expect(m.notified(FolderActivity(folderIDs: ["Y"]), now: at(3)) == [.status(.syncing), .sync(folder: "sentitems", fromScratch: false)])
    }

    /// A search folder's key is its name, not its id: it is resolved like a distinguished name,
    /// and its id then marks it.
    @Test func aSearchFolderIsResolvedAndItsIdMarksIt() {
        var m = machine(folders: ["inbox", "search:Unread Mail"], window: .zero, knownIDs: ["ID-inbox": "inbox"])
        #expect(m.startListening("S", now: at(0)).contains(.resolveFolders(["search:Unread Mail"])))
        _ = m.folderSynced("inbox", now: at(0))
        _ = m.folderSynced("search:Unread Mail", now: at(0))
        _ = m.foldersResolved(["ID-search": "search:Unread Mail"])
        #expect(m.notified(FolderActivity(folderIDs: ["ID-search"]), now: at(1))
            == [.status(.syncing), .sync(folder: "search:Unread Mail", fromScratch: false)])
    }

    /// A watched calendar is synced when its window moves (at 00:00 UTC), not only on events and
    /// safety syncs: what entered and left the window is recorded then.
    @Test func theCalendarIsSyncedWhenItsWindowMoves() {
        var config = machine(folders: ["inbox", "calendar"], window: .zero).config
        config.windowMoves = { .seconds(100) }
        var m = Machine(config: config)
        _ = m.startListening("S", now: at(0))
        _ = m.folderSynced("inbox", now: at(0))
        _ = m.folderSynced("calendar", now: at(0))
        #expect(m.tick(now: at(1)) == [])
        #expect(m.nextDeadline == at(101), "the move, before the safety sync at 900 s")
        #expect(m.tick(now: at(101)) == [.status(.syncing), .sync(folder: "calendar", fromScratch: false)])
        _ = m.folderSynced("calendar", now: at(102))
        #expect(m.nextDeadline == at(201), "and again a window later")
    }

    @Test func aFailedResolutionIsRetriedByTheSafetySync() {
        var m = machine(folders: ["inbox", "drafts"], window: .zero, knownIDs: ["ID-drafts": "drafts"])
        #expect(m.startListening("S", now: at(0)).contains(.resolveFolders(["inbox"])))
        _ = m.folderSynced("inbox", now: at(0))
        _ = m.folderSynced("drafts", now: at(0))
        _ = m.folderResolutionFailed()
        #expect(m.tick(now: at(900)).contains(.resolveFolders(["inbox"])))
    }

    @Test func aSingleWatchedFolderIsMarkedByEveryEventUntilItsIdIsKnown() {
        var m = machine(folders: ["inbox"], window: .zero, knownIDs: [:])
        // Its id is resolved once: it tells a foreign subscription's events apart.
        #expect(m.startListening("S", now: at(0)).contains(.resolveFolders(["inbox"])))
        _ = m.folderSynced("inbox", now: at(0))
        #expect(m.notified(FolderActivity(folderIDs: ["ANY"]), now: at(1)) == [.status(.syncing), .sync(folder: "inbox", fromScratch: false)])
        _ = m.folderSynced("inbox", now: at(1))
        #expect(m.notified(FolderActivity(modifiedFolderIDs: ["ANY"]), now: at(2))
            == [.status(.syncing), .sync(folder: "inbox", fromScratch: false)], "a folder-level Modified is about it too")
        _ = m.folderSynced("inbox", now: at(2))
        #expect(m.notified(FolderActivity(), now: at(3)) == [])  // no folder named at all
        _ = m.foldersResolved(["ID-inbox": "inbox"])
        #expect(m.notified(FolderActivity(folderIDs: ["ANY"]), now: at(4)).contains(.reportForeignEvents("S")))
    }

    @Test func listedFolderIdsNeedNoResolution() {
        var m = machine(folders: ["AAMkProjects"], window: .zero, knownIDs: [:])
        #expect(!m.startListening("S", now: at(0)).contains { if case .resolveFolders = $0 { true } else { false } })
        _ = m.folderSynced("AAMkProjects", now: at(0))
        #expect(m.notified(FolderActivity(folderIDs: ["AAMkProjects"]), now: at(1))
            == [.status(.syncing), .sync(folder: "AAMkProjects", fromScratch: false)])
    }

    @Test func folderEventsDoNotRefreshAnythingInListMode() {
        var m = streaming(["inbox"])
        #expect(m.notified(FolderActivity(hierarchyChanged: true), now: at(1)) == [])
        #expect(!m.refreshDue)
    }

    @Test func aVanishedListedFolderResubscribesAfterABackOff() {
        var m = machine(folders: ["inbox"], window: .zero)
        _ = m.startListening("S", now: at(0))
        let actions = m.folderSyncFailed("inbox", failure("ErrorSyncFolderNotFound"), now: at(1))
        #expect(actions.prefix(3) == [.leaveGroup, .persistSubscription(nil), .countResubscribe(reason: "folder_missing")])
        let retry = try! #require(m.retryAt)
        #expect(actions.last == .status(.backingOff, nextAttempt: retry))
        #expect(retry >= at(1.5) && retry <= at(2), "attempt 1 of the resubscribe pacer: 0.5–1 s")
        #expect(m.tick(now: retry) == [.status(.subscribing), .subscribe])
    }

    // MARK: all-folders mode

    @Test func allFoldersStartsWithTheHierarchyThenSyncsEveryFolderFound() {
        var m = machine(folders: [], window: .zero, allFolders: true)
        #expect(m.startListening("S", now: at(0))
            == [.joinGroup("S", established: true), .status(.subscribing), .status(.syncing), .refreshHierarchy])
        #expect(m.nextDeadline == at(900))  // the slot is busy: no sync is started meanwhile
        #expect(m.hierarchyRefreshed(Self.directory, now: at(1)) == [.status(.syncing), .sync(folder: "inbox", fromScratch: false)])
        #expect(m.folderSynced("inbox", now: at(2)) == [.status(.syncing), .sync(folder: "F1", fromScratch: false)])
        #expect(m.folderSynced("F1", now: at(3)) == [.status(.streaming)])
        #expect(m.folders == ["inbox", "F1"])
    }

    @Test func anUnknownFolderIdRefreshesTheHierarchyAndSyncsTheNewFolder() {
        var m = discovered()
        #expect(m.notified(FolderActivity(folderIDs: ["F2"]), now: at(1)) == [.status(.syncing), .refreshHierarchy])
        var grown = Self.directory
        grown.folders.append("F2")
        grown.keysByID["F2"] = "F2"
        #expect(m.hierarchyRefreshed(grown, now: at(2)) == [.status(.syncing), .sync(folder: "F2", fromScratch: false)])
        #expect(m.folderSynced("F2", now: at(3)) == [.status(.streaming)])
        #expect(m.notified(FolderActivity(folderIDs: ["F2"]), now: at(4)) == [.status(.syncing), .sync(folder: "F2", fromScratch: false)])
    }

    @Test func knownAndIgnoredIdsNeedNoRefresh() {
        var m = discovered()
        #expect(m.notified(FolderActivity(folderIDs: ["ID-calendar"]), now: at(1)) == [])
        #expect(m.notified(FolderActivity(folderIDs: ["F1", "ID-calendar"]), now: at(2))
            == [.status(.syncing), .sync(folder: "F1", fromScratch: false)])
        #expect(!m.refreshDue)
    }

    @Test func anIdStillUnknownAfterARefreshIsIgnoredFromThenOn() {
        var m = discovered()
        #expect(m.notified(FolderActivity(folderIDs: ["SEARCH"]), now: at(1)) == [.status(.syncing), .refreshHierarchy])
        #expect(m.hierarchyRefreshed(Self.directory, now: at(2)) == [.status(.streaming)])
        #expect(m.notified(FolderActivity(folderIDs: ["SEARCH"]), now: at(3)) == [])
    }

    @Test func anUnknownIdSeenDuringARefreshGetsAnotherOne() {
        var m = discovered()
        _ = m.notified(FolderActivity(folderIDs: ["A"]), now: at(1))
        #expect(m.refreshing)
        #expect(m.notified(FolderActivity(folderIDs: ["B"]), now: at(1.5)) == [])
        // The running refresh may have started before B was created: B gets a second chance.
        #expect(m.hierarchyRefreshed(Self.directory, now: at(2)) == [.status(.syncing), .refreshHierarchy])
        #expect(m.hierarchyRefreshed(Self.directory, now: at(3)) == [.status(.streaming)])
        #expect(m.notified(FolderActivity(folderIDs: ["A", "B"]), now: at(4)) == [])
    }

    @Test func folderEventsRefreshTheHierarchyAfterTheWindow() {
        var m = discovered(window: .seconds(2))
        #expect(m.notified(FolderActivity(hierarchyChanged: true), now: at(10)) == [])
        #expect(m.nextDeadline == at(12))
        #expect(m.tick(now: at(12)) == [.status(.syncing), .refreshHierarchy])
    }

    @Test func aDeletedFolderLeavesTheSyncList() {
        var m = discovered()
        _ = m.notified(FolderActivity(hierarchyChanged: true), now: at(1))
        let shrunk = FolderDirectory(folders: ["inbox"], keysByID: ["ID-inbox": "inbox"])
        #expect(m.hierarchyRefreshed(shrunk, now: at(2)) == [.status(.streaming)])
        #expect(m.folders == ["inbox"])
        #expect(m.notified(FolderActivity(folderIDs: ["ID-inbox"]), now: at(3)) == [.status(.syncing), .sync(folder: "inbox", fromScratch: false)])
    }

    @Test func aFolderThatVanishesMidSyncIsDroppedWithoutResubscribing() {
        var m = discovered()
        _ = m.notified(FolderActivity(folderIDs: ["F1"]), now: at(1))
        let actions = m.folderSyncFailed("F1", failure("ErrorSyncFolderNotFound"), now: at(2))
        #expect(actions == [.dropFolder("F1"), .status(.syncing), .refreshHierarchy])
        #expect(m.folders == ["inbox"])
        #expect(m.subscriptionID == "S")
    }

    @Test func theSafetySyncRefreshesTheHierarchyFirst() {
        var m = discovered()
        #expect(m.tick(now: at(900)) == [.status(.syncing), .refreshHierarchy])
        #expect(m.hierarchyRefreshed(Self.directory, now: at(901)) == [.status(.syncing), .sync(folder: "inbox", fromScratch: false)])
    }

    @Test func aCatchUpAfterAStreamFailureRefreshesAndMarksEverything() {
        var m = discovered()
        #expect(m.notified(folders: nil, now: at(5)) == [.status(.syncing), .refreshHierarchy])
        #expect(m.dirty == ["inbox", "F1"])
    }

    @Test func aResyncRequestListsTheHierarchyAgainThenEveryFolderFromScratch() {
        var m = discovered()
        #expect(m.resyncRequested(now: at(5)) == [.status(.syncing), .refreshHierarchy])
        #expect(m.hierarchyRefreshed(Self.directory, now: at(6)) == [.status(.syncing), .sync(folder: "inbox", fromScratch: true)])
        #expect(m.folderSynced("inbox", now: at(7)) == [.status(.syncing), .sync(folder: "F1", fromScratch: true)])
    }

    @Test func aPolledMailboxListsTheHierarchyOnEachPoll() {
        var m = discovered()
        #expect(m.joinedGroup(false, now: at(1)) == [.status(.polling)])
        #expect(m.tick(now: at(61)) == [.joinGroup("S", established: true), .status(.syncing), .refreshHierarchy])
        _ = m.hierarchyRefreshed(Self.directory, now: at(62))
        _ = m.folderSynced("inbox", now: at(62))
        #expect(m.folderSynced("F1", now: at(62)) == [.status(.polling)])
        // Joining a group after polling: notifications (folder events too) were missed; the
        // catch-up runs once the stream is up.
        #expect(m.joinedGroup(true, now: at(70)) == [.status(.subscribing)])
        #expect(m.streamUp(now: at(71)) == [.status(.syncing), .refreshHierarchy])
    }

    @Test func aFailedRefreshBacksOffAndIsRetried() {
        var m = discovered()
        _ = m.notified(FolderActivity(hierarchyChanged: true), now: at(1))
        let actions = m.hierarchyRefreshFailed(failure("ErrorServerBusy", backOffMs: 5000), now: at(1))
        #expect(m.phase == .backingOff)
        #expect(actions.count == 1)
        let retryAt = try! #require(m.nextDeadline)
        #expect(retryAt >= at(6))
        #expect(m.tick(now: retryAt) == [.status(.streaming), .status(.syncing), .refreshHierarchy])
    }
}

@Suite struct FolderActivityTests {
    @Test func itemEventsNameTheirParentAndOldParentFolders() {
        let activity = FolderActivity(events: [
            StreamingEvent(kind: .created, itemID: EWSItemID(id: "I1"), parentFolderID: EWSItemID(id: "P1")),
            StreamingEvent(kind: .moved, itemID: EWSItemID(id: "I2"), parentFolderID: EWSItemID(id: "P2"),
                           oldItemID: EWSItemID(id: "I0"), oldParentFolderID: EWSItemID(id: "P3")),
            StreamingEvent(kind: .status),
        ])
        var expected = FolderActivity(folderIDs: ["P1", "P2", "P3"], hierarchyChanged: false)
        expected.departures = [.init(itemID: "I0", folderID: "P3")]
        #expect(activity == expected)
        #expect(activity.namedFolderIDs == ["P1", "P2", "P3"])
    }

    @Test func folderCreationIsAHierarchyChangeButAFolderModificationIsNot() {
        let modified = FolderActivity(events: [
            StreamingEvent(kind: .modified, folderID: EWSItemID(id: "F"), parentFolderID: EWSItemID(id: "ROOT"), unreadCount: 3),
        ])
        #expect(modified == FolderActivity(modifiedFolderIDs: ["F"], namedFolderIDs: ["F", "ROOT"]))
        let created = FolderActivity(events: [
            StreamingEvent(kind: .created, folderID: EWSItemID(id: "F"), parentFolderID: EWSItemID(id: "ROOT")),
        ])
        #expect(created == FolderActivity(namedFolderIDs: ["F", "ROOT"], hierarchyChanged: true))
    }
}
