import Support
import Crypto
import Foundation
import NIOConcurrencyHelpers

/// The simulated Exchange organisation(s): tenants, mailboxes, folders, items, subscriptions,
/// streaming connections and tokens. One lock guards it all; every public call is short and
/// never blocks while holding it, so it is safe to call from NIO event loops and tasks alike.
public final class SimWorld: @unchecked Sendable {
    // Safe: every stored `var` below is only touched inside `lock.withLock`.
    let lock = NIOLock()
    public let configuration: SimConfiguration
    public let clock: SimClock
    var tenants: [Tenant] = []
    var tenantByName: [String: Tenant] = [:]
    var mailboxBySmtp: [String: Mailbox] = [:]
    var subscriptions: [Subscription.Key: Subscription] = [:]
    var connections: [Int: StreamConnection] = [:]
    var nextConnectionId = 1
    var random: SplitMix64
    var tokens: [String: IssuedToken] = [:]
    var stats = SimStats()
    var faultBook = FaultBook()
    var throttleBook = ThrottleBook()
    var accessBook = AccessBook()
    /// Random schedules of one-shot faults (cancelled when cleared).
    var faultTasks: [Int: Task<Void, Never>] = [:]
    /// Per-run key: sync states are HMAC-signed with it, so tampered or foreign states are refused.
    let syncStateKey: SymmetricKey

    public init(configuration: SimConfiguration, clock: SimClock = .continuous) {
        self.configuration = configuration
        self.clock = clock
        self.random = SplitMix64(simSeed: configuration.seed)
        self.syncStateKey = SymmetricKey(size: .bits256)
        lock.withLock { populate() }
    }

    // MARK: lookups (call with the lock held)

    func mailbox(tenant: Int, index: Int) -> Mailbox? {
        guard tenants.indices.contains(tenant), tenants[tenant].mailboxes.indices.contains(index) else { return nil }
        return tenants[tenant].mailboxes[index]
    }

    func mailbox(smtp: String) -> Mailbox? { mailboxBySmtp[smtp.lowercased()] }

    func folderId(_ mailbox: Mailbox, _ folder: Folder) -> String {
        SimIds.folderId(tenant: mailbox.tenantIndex, mailbox: mailbox.index, folder: folder.index)
    }

    func itemId(_ mailbox: Mailbox, _ item: Item) -> String {
        SimIds.itemId(tenant: mailbox.tenantIndex, mailbox: mailbox.index, key: item.key, generation: item.generation)
    }

    func serverName(_ mailbox: Mailbox) -> String {
        tenants[mailbox.tenantIndex].servers[mailbox.serverIndex]
    }

    /// Resolves an EWS item id to its mailbox and live item; nil when malformed, moved or deleted.
    func resolveItem(_ id: String) -> (Mailbox, Item)? {
        guard let ref = SimIds.parseItem(id), let mailbox = mailbox(tenant: ref.tenant, index: ref.mailbox),
              let item = mailbox.items[ref.key], item.generation == ref.generation
        else { return nil }
        return (mailbox, item)
    }

    func resolveFolder(_ id: String) -> (Mailbox, Folder)? {
        guard let ref = SimIds.parseFolder(id), let mailbox = mailbox(tenant: ref.tenant, index: ref.mailbox),
              let folder = mailbox.folders.first(where: { $0.index == ref.folder })
        else { return nil }
        return (mailbox, folder)
    }

    func folderName(_ mailbox: Mailbox, _ index: UInt32) -> String {
        guard let folder = mailbox.folders.first(where: { $0.index == index }) else {
            return mailbox.folderTombstones.first { $0.index == index }?.displayName ?? "?"
        }
        return folder.distinguished ?? folder.displayName
    }

    func unreadCount(_ mailbox: Mailbox, _ folder: Folder) -> Int {
        folder.search == nil ? folder.unread : searchUnreadCount(mailbox, folder)
    }

    func appendLedger(_ mailbox: Mailbox, _ entry: LedgerRecord) {
        mailbox.ledger.append(entry)
        // Trim in batches so a full ledger does not cost a shift per change.
        if mailbox.ledger.count > configuration.ledgerLimit + configuration.ledgerLimit / 4 {
            let drop = mailbox.ledger.count - configuration.ledgerLimit
            mailbox.ledger.removeFirst(drop)
            mailbox.ledgerDropped += drop
        }
    }
}

extension SimWorld {
    /// The public form of a stored ledger row (lock held).
    func ledgerEntry(_ mailbox: Mailbox, _ record: LedgerRecord) -> LedgerEntry {
        let isRead: Bool? = record.isRead == 2 ? nil : record.isRead == 1
        if record.kind == .folderCreated {
            let folder = UInt32(record.key)
            return LedgerEntry(
                sequence: record.sequence, time: Date(timeIntervalSince1970: record.time), kind: record.kind.name,
                itemId: SimIds.folderId(tenant: mailbox.tenantIndex, mailbox: mailbox.index, folder: folder), oldItemId: nil,
                folder: folderName(mailbox, folder), changeKey: SimIds.folderChangeKey(record.sequence), isRead: nil)
        }
        func id(_ generation: UInt32) -> String {
            SimIds.itemId(tenant: mailbox.tenantIndex, mailbox: mailbox.index, key: record.key, generation: generation)
        }
        return LedgerEntry(
            sequence: record.sequence, time: Date(timeIntervalSince1970: record.time), kind: record.kind.name,
            itemId: id(record.generation), oldItemId: record.kind == .moved ? id(record.generation - 1) : nil,
            folder: folderName(mailbox, record.folder),
            changeKey: record.kind == .deleted ? nil : SimIds.itemChangeKey(record.keySequence), isRead: isRead)
    }

    /// `lock.withLock` for typed-throwing bodies (NIOLock's is untyped `rethrows`).
    func locked<T>(_ body: () throws(SimError) -> T) throws(SimError) -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body()
    }
}
