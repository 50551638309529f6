import Support
import TestSupport
import Testing
@testable import Simulator

/// Net-change semantics of SyncFolderItems, on the world directly (no HTTP).
@Suite struct SyncEngineTests {
    let world: SimWorld
    let smtp = "user1@tenant1.example"

    init() {
        var configuration = SimConfiguration()
        configuration.tenants = 1
        configuration.mailboxesPerTenant = 2
        configuration.itemsPerMailbox = 0
        world = SimWorld(configuration: configuration, clock: SimClock(ManualClock()))
    }

    func sync(_ state: String?, folder: String = "inbox", max: Int = 512) throws -> SimWorld.ItemSyncResult {
        try world.lock.withLock {
            let mailbox = world.mailbox(smtp: smtp)!
            let target = mailbox.folder(distinguished: folder)!
            return try world.syncItems(mailbox, target, state: state, maxChanges: max, ignore: [])
        }
    }

    func kinds(_ result: SimWorld.ItemSyncResult) -> [String] {
        result.changes.map { change in
            switch change.kind {
            case .create: "create:\(change.itemId)"
            case .update: "update:\(change.itemId)"
            case .delete: "delete:\(change.itemId)"
            case .readFlag: "read:\(change.itemId):\(change.isRead)"
            case .initialReadState: "initial-read:\(change.itemId):\(change.isRead)"
            }
        }
    }

    @Test func initialSyncReturnsEveryItemAsCreate() throws {
        let ids = try world.deliver(mailbox: smtp, count: 3)
        let result = try sync(nil)
        #expect(kinds(result) == ids.map { "create:\($0)" })
        #expect(result.includesLastItemInRange)
    }

    /// gromox (captured from 3.10): a sync from scratch follows the Create of each item whose read
    /// state changed since it entered the folder with a ReadFlagChange, over every page of that
    /// first round; Exchange does not.
    @Test(arguments: [SimDialect.exchange, .gromox])
    func aFirstSyncRepeatsReadChangesOnlyInGromoxsDialect(dialect: SimDialect) throws {
        try world.setDialect(dialect, tenant: "tenant1")
        let ids = try world.deliver(mailbox: smtp, count: 3)
        try world.setRead(itemId: ids[1], true)
        try world.setRead(itemId: ids[2], true)
        try world.setRead(itemId: ids[2], false)
        let first = try sync(nil, max: 2)
        let second = try sync(first.syncState, max: 2)
        let all = kinds(first) + kinds(second)
        if dialect == .gromox {
            #expect(all == ["create:\(ids[0])", "create:\(ids[1])", "initial-read:\(ids[1]):true", "create:\(ids[2])",
                            "initial-read:\(ids[2]):false"])
        } else {
            #expect(all == ids.map { "create:\($0)" })
        }
        // Later rounds report changes as usual.
        try world.setRead(itemId: ids[0], true)
        #expect(kinds(try sync(second.syncState)) == ["read:\(ids[0]):true"])
    }

    @Test func createThenModifyCoalescesIntoOneCreateWithNewestChangeKey() throws {
        let state = try sync(nil).syncState
        let id = try world.deliver(mailbox: smtp)[0]
        try world.updateItem(itemId: id)
        try world.setRead(itemId: id, true)
        let result = try sync(state)
        #expect(kinds(result) == ["create:\(id)"])
        let truth = try world.items(mailbox: smtp).first { $0.itemId == id }!
        #expect(result.changes[0].changeKey == truth.changeKey)
    }

    @Test func readOnlyChangeGivesReadFlagChangeAndContentChangeGivesUpdate() throws {
        let ids = try world.deliver(mailbox: smtp, count: 2)
        let state = try sync(nil).syncState
        try world.setRead(itemId: ids[0], true)
        try world.updateItem(itemId: ids[1])
        #expect(kinds(try sync(state)) == ["read:\(ids[0]):true", "update:\(ids[1])"])
    }

    @Test func deleteIsReportedButCreateThenDeleteIsNot() throws {
        let old = try world.deliver(mailbox: smtp)[0]
        let state = try sync(nil).syncState
        let transient = try world.deliver(mailbox: smtp)[0]
        try world.deleteItem(itemId: transient, hard: true)
        try world.deleteItem(itemId: old, hard: true)
        #expect(kinds(try sync(state)) == ["delete:\(old)"])
    }

    @Test func moveIsDeleteInOldFolderAndCreateInNewWithANewId() throws {
        let id = try world.deliver(mailbox: smtp)[0]
        let inboxState = try sync(nil).syncState
        let archiveState = try sync(nil, folder: "deleteditems").syncState
        let newId = try world.moveItem(itemId: id, toFolder: "deleteditems")
        #expect(newId != id)
        #expect(kinds(try sync(inboxState)) == ["delete:\(id)"])
        #expect(kinds(try sync(archiveState, folder: "deleteditems")) == ["create:\(newId)"])
    }

    @Test func pagesHoldAtMostMaxChangesAndEndWithIncludesLastItemInRange() throws {
        let ids = try world.deliver(mailbox: smtp, count: 7)
        var state: String? = nil
        var seen: [String] = []
        var pages = 0
        while true {
            let result = try sync(state, max: 3)
            #expect(result.changes.count <= 3)
            seen += result.changes.map(\.itemId)
            state = result.syncState
            pages += 1
            if result.includesLastItemInRange { break }
        }
        #expect(pages == 3)
        #expect(seen == ids)
        #expect(try sync(state).changes.isEmpty)
    }

    @Test func changesDuringPagingAreNotLost() throws {
        let ids = try world.deliver(mailbox: smtp, count: 4)
        let first = try sync(nil, max: 2)
        #expect(!first.includesLastItemInRange)
        try world.deleteItem(itemId: ids[0], hard: true)  // already returned on page 1
        let late = try world.deliver(mailbox: smtp)[0]
        var state = first.syncState
        var rest: [String] = []
        while true {
            let page = try sync(state, max: 2)
            rest += kinds(page)
            state = page.syncState
            if page.includesLastItemInRange { break }
        }
        #expect(rest.contains("create:\(ids[2])") && rest.contains("create:\(ids[3])"))
        #expect(rest.contains("create:\(late)"))
        #expect(rest.contains("delete:\(ids[0])"))
    }

    @Test(arguments: ["", "garbage", "AAAA", "not base64!"])
    func invalidSyncStateIsRefused(_ state: String) throws {
        _ = try world.deliver(mailbox: smtp)
        if state.isEmpty { return }  // empty = initial sync, allowed
        #expect(throws: SimWorld.SyncFailure.self) { try sync(state) }
    }

    @Test func tamperedOrForeignSyncStateIsRefused() throws {
        let state = try sync(nil).syncState
        var bytes = Array(Data(base64Encoded: state)!)
        bytes[20] ^= 1
        #expect(throws: SimWorld.SyncFailure.self) { try sync(Data(bytes).base64EncodedString()) }
        // A state of another folder is not valid for this one.
        #expect(throws: SimWorld.SyncFailure.self) { try sync(state, folder: "sentitems") }
    }

    @Test func unreadCountsAndFolderMembershipStayConsistentUnderRandomTraffic() throws {
        _ = try world.deliver(mailbox: smtp, count: 20)
        var random = SplitMix64(simSeed: 9)
        var mix = TrafficGenerator.Mix()
        mix.set("folder_create", 0.3)
        world.performRandomActions(2000, mix: mix, random: &random)
        world.lock.withLock {
            for mailbox in world.tenants[0].mailboxes {
                var members = 0
                for folder in mailbox.folders {
                    let items = folder.itemKeys.compactMap { mailbox.items[$0] }
                    #expect(items.count == folder.itemKeys.count)
                    #expect(items.allSatisfy { $0.folderIndex == folder.index })
                    #expect(folder.unread == items.filter { !$0.isRead }.count)
                    members += items.count
                }
                #expect(members == mailbox.items.count)
            }
        }
    }

    @Test func stateOlderThanPrunedTombstonesIsInvalidButRecentStateIsNot() throws {
        var configuration = SimConfiguration()
        configuration.tenants = 1
        configuration.mailboxesPerTenant = 1
        configuration.itemsPerMailbox = 0
        configuration.tombstoneLimit = 4
        let small = SimWorld(configuration: configuration, clock: SimClock(ManualClock()))
        func sync(_ state: String?) throws -> SimWorld.ItemSyncResult {
            try small.lock.withLock {
                let mailbox = small.mailbox(smtp: smtp)!
                return try small.syncItems(mailbox, mailbox.folder(distinguished: "inbox")!, state: state, maxChanges: 512, ignore: [])
            }
        }
        let ids = try small.deliver(mailbox: smtp, count: 6)
        let old = try sync(nil).syncState
        for id in ids.prefix(4) { try small.deleteItem(itemId: id, hard: true) }
        let recent = try sync(old).syncState  // 4 tombstones: still within the limit
        // Two more: 6 tombstones > 4 + 4/4 → the oldest two are pruned.
        for id in ids.suffix(2) { try small.deleteItem(itemId: id, hard: true) }
        #expect(throws: SimWorld.SyncFailure.self) { try sync(old) }
        // Pruning keeps the newest tombstones, so a state at or after them still works.
        let result = try sync(recent)
        #expect(result.changes.map(\.itemId) == Array(ids.suffix(2)))
        #expect(result.changes.allSatisfy { $0.kind == .delete })
    }

    @Test func changeKeyChangesOnEveryModificationAndLedgerRecordsAll() throws {
        let id = try world.deliver(mailbox: smtp)[0]
        var keys: Set<String> = []
        keys.insert(try world.items(mailbox: smtp)[0].changeKey)
        try world.setRead(itemId: id, true)
        keys.insert(try world.items(mailbox: smtp)[0].changeKey)
        try world.updateItem(itemId: id)
        keys.insert(try world.items(mailbox: smtp)[0].changeKey)
        #expect(keys.count == 3)
        #expect(try world.ledger(mailbox: smtp).map(\.kind) == ["created", "read", "updated"])
    }
}

import Foundation

@Suite struct LedgerTests {
    @Test func ledgerRowsNameTheIdsAndChangeKeysOfEachChange() throws {
        var configuration = SimConfiguration()
        configuration.tenants = 1
        configuration.mailboxesPerTenant = 1
        configuration.itemsPerMailbox = 0
        let world = SimWorld(configuration: configuration, clock: SimClock(ManualClock()))
        let smtp = "user1@tenant1.example"
        let id = try world.deliver(mailbox: smtp)[0]
        let createdKey = try world.items(mailbox: smtp)[0].changeKey
        let moved = try world.moveItem(itemId: id, toFolder: "Projects")
        let movedKey = try world.items(mailbox: smtp, folder: "Projects")[0].changeKey
        try world.deleteItem(itemId: moved, hard: true)
        let folder = try world.createFolder(mailbox: smtp, name: "Invoices")
        let ledger = try world.ledger(mailbox: smtp)
        #expect(ledger.map(\.kind) == ["created", "moved", "deleted", "folder_created"])
        #expect(ledger[0].itemId == id && ledger[0].changeKey == createdKey && ledger[0].folder == "inbox")
        #expect(ledger[1].itemId == moved && ledger[1].oldItemId == id && ledger[1].changeKey == movedKey)
        #expect(ledger[1].folder == "Projects")
        #expect(ledger[2].itemId == moved && ledger[2].changeKey == nil && ledger[2].isRead == nil)
        #expect(ledger[3].itemId == folder && ledger[3].folder == "Invoices")
        #expect(ledger.map(\.sequence) == ledger.map(\.sequence).sorted())
    }
}
