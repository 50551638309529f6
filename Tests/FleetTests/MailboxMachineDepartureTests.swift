import EWS
import Testing
@testable import Fleet
import TestSupport

/// Deleted events without a sync: applied at once only for folders whose last sync started on the
/// live stream; the folder is synced afterwards all the same.
@Suite struct MailboxMachineDepartureTests {
    /// Streaming, with inbox synced on the live stream (t = 1).
    func listening(folders: [String] = ["inbox"]) -> Machine {
        var m = machine(folders: folders)
        _ = m.start(persistedSubscription: nil, now: at(0))
        _ = m.subscribedListening("S1", now: at(1))
        for folder in folders { _ = m.folderSynced(folder, now: at(1)) }
        return m
    }

    func deleted(_ item: String, in folder: String = "ID-inbox") -> FolderActivity {
        FolderActivity(events: [StreamingEvent(kind: .deleted, itemID: EWSItemID(id: item), parentFolderID: EWSItemID(id: folder))])
    }

    @Test func aDeleteOfAFolderSyncedOnTheLiveStreamIsAppliedAtOnceAndTheFolderStillSynced() {
        var m = listening()
        #expect(m.listening == ["inbox"])
        let actions = m.notified(deleted("X"), now: at(5))
        #expect(actions == [.deleteLocally(folder: "inbox", items: ["X"])])
        #expect(m.dirty == ["inbox"], "the sync after the coalescing window confirms it")
        #expect(m.tick(now: at(7)) == [.status(.syncing), .sync(folder: "inbox", fromScratch: false)])
    }

    @Test func aMovedItemsOldIdLeavesItsOldFolder() {
        var m = listening(folders: ["inbox", "sentitems"])
        let move = FolderActivity(events: [StreamingEvent(kind: .moved, itemID: EWSItemID(id: "X2"), parentFolderID: EWSItemID(id: "ID-sentitems"),
                                                          oldItemID: EWSItemID(id: "X"), oldParentFolderID: EWSItemID(id: "ID-inbox"))])
        #expect(m.notified(move, now: at(5)).first == .deleteLocally(folder: "inbox", items: ["X"]))
    }

    @Test func notAppliedUntilAFolderWasSyncedOnTheStreamThatBroughtTheEvent() {
        var m = listening()
        _ = m.streamDown(failure("StreamEnded"), failures: 1, retryAt: at(10), wasHealthy: true, now: at(5))
        #expect(m.listening.isEmpty, "events may have been lost")
        _ = m.streamUp(now: at(10))
        // The stream is back, but inbox was not synced on it yet: a delete waits for the sync.
        #expect(m.notified(deleted("X"), now: at(10.5)).allSatisfy { if case .deleteLocally = $0 { false } else { true } })
        #expect(m.tick(now: at(12.5)).contains(.sync(folder: "inbox", fromScratch: false)))
        _ = m.folderSynced("inbox", now: at(13))
        #expect(m.notified(deleted("Y"), now: at(14)).first == .deleteLocally(folder: "inbox", items: ["Y"]))
    }

    @Test func aSyncThatFailedOrAnUnknownFolderOrTheSwitchOffAppliesNothing() {
        var m = listening()
        #expect(m.notified(deleted("X", in: "ID-elsewhere"), now: at(5)).allSatisfy { if case .deleteLocally = $0 { false } else { true } })
        _ = m.tick(now: at(7))
        _ = m.folderSyncFailed("inbox", failure("ErrorServerBusy", backOffMs: 1000), now: at(8))
        #expect(m.listening.isEmpty)

        var config = machine().config
        config.deleteOnNotification = false
        var off = Machine(config: config)
        _ = off.start(persistedSubscription: nil, now: at(0))
        _ = off.subscribedListening("S1", now: at(1))
        _ = off.folderSynced("inbox", now: at(1))
        #expect(off.notified(deleted("X"), now: at(5)).allSatisfy { if case .deleteLocally = $0 { false } else { true } })
    }
}
