@testable import EWS
import Foundation
@testable import Fleet
import Store
import Synchronization
import Testing

/// A mailbox's folder tree as SyncFolderHierarchy reports it: a full listing without a state, the
/// scripted `changes` with state "h1", and an invalid-state error for any other state.
final class ScriptedHierarchy: HierarchyService {
    let listing: [EWSFolder]
    let changes: [EWSFolderChange]
    let distinguished: [String: String]
    let calls = Mutex<[String]>([])
    /// The listing page's IncludesLastFolderInRange (nil: a page that does not say).
    let listingIsLast: Bool?

    init(listing: [EWSFolder], changes: [EWSFolderChange] = [], distinguished: [String: String], listingIsLast: Bool? = true) {
        self.listing = listing
        self.listingIsLast = listingIsLast
        self.changes = changes
        self.distinguished = distinguished
    }

    func syncFolderHierarchy(mailbox: String, syncState: String?) async throws -> SyncFolderHierarchyResponseMessage {
        calls.withLock { $0.append("SyncFolderHierarchy(\(syncState ?? "nil"))") }
        switch syncState {
        case nil:
            return SyncFolderHierarchyResponseMessage(status: .noError, syncState: "h1", includesLastFolderInRange: listingIsLast,
                                                      changes: listing.map { EWSFolderChange(kind: .create, folder: $0) })
        case "h1"?:
            return SyncFolderHierarchyResponseMessage(status: .noError, syncState: "h2", includesLastFolderInRange: true,
                                                      changes: changes)
        default:
            return SyncFolderHierarchyResponseMessage(
                status: EWSResponseStatus(responseClass: .error, responseCode: "ErrorInvalidSyncStateData"), syncState: "",
                includesLastFolderInRange: true, changes: [])
        }
    }

    func folderIDs(mailbox: String, distinguished names: [String]) async throws -> [String: String] {
        calls.withLock { $0.append("GetFolder(\(names.joined(separator: ",")))") }
        return distinguished.filter { names.contains($0.key) }
    }
}

final class MemoryHierarchyStore: HierarchyStore {
    let stored: FolderRepository.Hierarchy
    let commits = Mutex<[FolderRepository.HierarchyCheckpoint]>([])

    init(_ stored: FolderRepository.Hierarchy) { self.stored = stored }

    func hierarchy(mailboxID: Int64) async throws -> FolderRepository.Hierarchy { stored }
    func commit(_ checkpoint: FolderRepository.HierarchyCheckpoint) async throws -> Int {
        commits.withLock { $0.append(checkpoint) }
        return 0
    }
}

func folder(_ id: String, _ name: String, type: String = "Folder", cls: String? = "IPF.Note") -> EWSFolder {
    EWSFolder(folderType: type, folderID: EWSItemID(id: id), parentFolderID: EWSItemID(id: "ROOT"), displayName: name,
              folderClass: cls)
}

@Suite struct HierarchySyncerTests {
    static let tree = [folder("I", "Inbox"), folder("S", "Sent Items"), folder("P", "Projects"),
                       folder("C", "Calendar", type: "CalendarFolder", cls: "IPF.Appointment"),
                       folder("Q", "Unread Mail", type: "SearchFolder", cls: nil), folder("K", "Contacts", cls: "IPF.Contact")]
    static let target = FolderSyncer.Target(tenant: "t", mailboxID: 1, mailbox: "a@b.example", lease: nil)

    @Test func aFirstSyncKeysWellKnownFoldersByNameAndTheRestById() async throws {
        let service = ScriptedHierarchy(listing: Self.tree, distinguished: ["inbox": "I", "sentitems": "S"])
        let store = MemoryHierarchyStore(.init(syncState: nil, folders: [], mirroredFolders: []))
        let directory = try await HierarchySyncer(service: service, store: store).refresh(Self.target)
        #expect(directory.folders == ["inbox", "sentitems", "P"])
        #expect(directory.keysByID == ["I": "inbox", "S": "sentitems", "P": "P"])
        #expect(directory.ignoredIDs == ["C", "Q", "K"])
        let commit = try #require(store.commits.withLock { $0.first })
        #expect(commit.syncState == "h1")
        #expect(commit.upserts.map(\.key) == ["P", "inbox", "sentitems"])
        #expect(commit.drops.isEmpty)
        #expect(service.calls.withLock { $0 } == ["GetFolder(inbox,sentitems,drafts,deleteditems,junkemail,outbox)",
                                                  "SyncFolderHierarchy(nil)"])
    }

    @Test func anIncrementalSyncAddsAndDropsFoldersWithoutGetFolder() async throws {
        let service = ScriptedHierarchy(
            listing: [], changes: [EWSFolderChange(kind: .create, folder: folder("N", "New")),
                                   EWSFolderChange(kind: .delete, folder: EWSFolder(folderType: "Folder", folderID: EWSItemID(id: "P")))],
            distinguished: [:])
        let store = MemoryHierarchyStore(.init(
            syncState: "h1",
            folders: [.init(key: "inbox", ewsID: "I", displayName: "Inbox"), .init(key: "P", ewsID: "P", displayName: "Projects")],
            mirroredFolders: ["inbox", "P"]))
        let directory = try await HierarchySyncer(service: service, store: store).refresh(Self.target)
        #expect(directory.folders == ["inbox", "N"])
        let commit = try #require(store.commits.withLock { $0.first })
        #expect(commit.drops == ["P"])
        #expect(commit.upserts.map(\.key) == ["N"])
        #expect(commit.syncState == "h2")
        #expect(service.calls.withLock { $0 } == ["SyncFolderHierarchy(h1)"])
    }

    @Test func anInvalidStateStartsOverAndDropsWhatTheListingLacks() async throws {
        let service = ScriptedHierarchy(listing: Self.tree, distinguished: ["inbox": "I", "sentitems": "S"])
        let store = MemoryHierarchyStore(.init(
            syncState: "stale",
            folders: [.init(key: "inbox", ewsID: "I"), .init(key: "GONE", ewsID: "GONE")],
            mirroredFolders: ["inbox", "GONE", "junkemail"]))
        let directory = try await HierarchySyncer(service: service, store: store).refresh(Self.target)
        #expect(directory.folders == ["inbox", "sentitems", "P"])
        let commit = try #require(store.commits.withLock { $0.first })
        #expect(commit.drops == ["GONE", "junkemail"])
        #expect(commit.syncState == "h1")
        // inbox's id was known: only the missing names are resolved.
        #expect(service.calls.withLock { $0 } == ["SyncFolderHierarchy(stale)",
                                                  "GetFolder(sentitems,drafts,deleteditems,junkemail,outbox)",
                                                  "SyncFolderHierarchy(nil)"])
    }

    /// A page that does not say whether it is the last is malformed, not the last: taken as the
    /// last, a from-scratch listing would drop every folder it had not reported yet.
    @Test func aPageWithoutIncludesLastFolderInRangeIsMalformedAndDropsNothing() async throws {
        let service = ScriptedHierarchy(listing: [folder("I", "Inbox")], distinguished: ["inbox": "I"], listingIsLast: nil)
        let store = MemoryHierarchyStore(.init(
            syncState: nil, folders: [.init(key: "inbox", ewsID: "I"), .init(key: "P", ewsID: "P", displayName: "Projects")],
            mirroredFolders: ["inbox", "P"]))
        await #expect(performing: {
            _ = try await HierarchySyncer(service: service, store: store).refresh(Self.target)
        }, throws: { ($0 as? EWSCallError)?.decision.code == "MalformedResponse" })
        #expect(store.commits.withLock { $0.isEmpty })
    }
}
