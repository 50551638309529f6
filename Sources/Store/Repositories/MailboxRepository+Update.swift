import Foundation

/// A per-mailbox setting that `mailbox update` may set, or hand back to the tenant.
public enum MailboxOverride<Value: Sendable & Equatable>: Sendable, Equatable {
    case value(Value)
    /// NULL in the row: the tenant's setting applies.
    case tenant
}

/// What `mailbox update` changes; empty or nil fields stay as they are.
public struct MailboxUpdate: Sendable, Equatable {
    public var addFolders: [String] = []
    public var removeFolders: [String] = []
    /// true: watch every folder; false: watch a list again (the folders added, else inbox).
    public var allFolders: Bool?
    public var syncMode: MailboxOverride<SyncMode>?
    public var pollIntervalSeconds: MailboxOverride<Int>?
    /// A new filtered scope, or `.tenant` for none (every item). Each folder then syncs from
    /// scratch, diffed against the mirror: items entering the scope are `created`, items leaving
    /// it `deleted` (see `folder_sync.filter_scope`).
    public var filter: MailboxOverride<MailboxFilter>?
    /// Folders no longer watched leave the mirror, each item with a `deleted` row in `changes`, and
    /// their SyncStates go. Without it their mirror rows and SyncStates stay as they were: not
    /// updated any more, and a folder watched again later resumes from its SyncState.
    public var purge = false

    public init() {}
}

extension MailboxRepository {
    public struct UpdateResult: Sendable, Equatable {
        public var mailbox: Mailbox
        /// Folders no longer watched.
        public var unwatched: [String]
        /// `deleted` rows written by `purge`.
        public var purgedItems: Int
    }

    /// Applies `update` in one transaction, the mailbox row locked. A change of the watched folders
    /// also forgets the mailbox's subscription, which names them (it expires on the server by itself);
    /// a running instance restarts the mailbox with the new settings within seconds (the row's
    /// trigger wakes its supervisor). Writes of a sync still running for a folder that is no
    /// longer watched are refused (see `CheckpointWriter`), so a purge is never undone by a page
    /// that was in flight.
    public func update(tenant: String, smtpAddress: String, _ update: MailboxUpdate) async throws -> UpdateResult {
        let address = smtpAddress.lowercased()
        return try await StoreError.translating("mailbox \(address) in tenant \(tenant)") {
            try await pool.withTransaction { conn in
                let rows = try await conn.query("""
                    SELECT m.id, m.tenant_id, m.smtp_address, m.watch_all, m.folders, m.enabled, m.resync_requested_at,
                           m.sync_mode, m.poll_interval_seconds, m.start_mode, m.filter, t.impersonation
                      FROM mailboxes m JOIN tenants t ON t.id = m.tenant_id
                     WHERE t.name = $1 AND m.smtp_address = $2 FOR UPDATE OF m
                    """, [PostgresValue(tenant), PostgresValue(address)], name: "mailbox.lock")
                guard let row = rows.rows.first else {
                    let known = try await conn.query("SELECT 1 FROM tenants WHERE name = $1", [PostgresValue(tenant)],
                                                     name: "mailbox.update_tenant").rows.count == 1
                    throw StoreError(.notFound, known ? "unknown mailbox \(address) in tenant \(tenant)" : "unknown tenant \(tenant)")
                }
                let before = try Mailbox(row: row, tenantName: tenant)
                let watch = try Self.watch(after: update, from: before.watch,
                                           impersonation: try row.decode("impersonation", as: Bool.self), tenant: tenant)
                var mode = before.syncMode
                switch update.syncMode {
                case .value(let m)?: mode = m
                case .tenant?: mode = nil
                case nil: break
                }
                var interval = before.pollIntervalSeconds
                switch update.pollIntervalSeconds {
                case .value(let s)?: interval = s
                case .tenant?: interval = nil
                case nil: break
                }
                var filter = before.filter
                switch update.filter {
                case .value(let f)?: filter = f
                case .tenant?: filter = nil
                case nil: break
                }
                let (all, folders) = try Self.columns(for: watch)
                let updated = try await conn.query("""
                    UPDATE mailboxes SET watch_all = $2, folders = $3::text[], sync_mode = $4, poll_interval_seconds = $5::integer,
                           filter = $6, updated_at = now()
                     WHERE id = $1
                    RETURNING \(Self.returning)
                    """, [PostgresValue(before.id), PostgresValue(all), .array(folders), PostgresValue(mode?.rawValue),
                          interval.map { PostgresValue($0) } ?? .null, PostgresValue(filter?.description)], name: "mailbox.update")
                let mailbox = try Mailbox(row: updated.rows[0], tenantName: tenant)
                guard watch != before.watch else { return UpdateResult(mailbox: mailbox, unwatched: [], purgedItems: 0) }
                // The subscription names the folders it watches (or all of them): it cannot serve the new set.
                try await conn.query("DELETE FROM subscriptions WHERE mailbox_id = $1", [PostgresValue(before.id)],
                                     name: "mailbox.update_forget_subscription")
                let unwatched = try await Self.unwatched(mailboxID: before.id, before: before.watch, after: watch, on: conn)
                var purged = 0
                if update.purge, !unwatched.isEmpty {
                    purged = try await FolderRepository.drop(unwatched, mailboxID: before.id, tenant: tenant, mailbox: address,
                                                             observedAt: Date(), on: conn)
                }
                return UpdateResult(mailbox: mailbox, unwatched: unwatched, purgedItems: purged)
            }
        }
    }

    /// The watch mode after `update`, or a clear error for a change that makes no sense.
    static func watch(after update: MailboxUpdate, from current: WatchMode, impersonation: Bool, tenant: String) throws -> WatchMode {
        var all = current == .allFolders
        var folders: [String] = if case .folders(let list) = current { list } else { [] }
        switch update.allFolders {
        case true?:
            guard impersonation else {
                throw StoreError(.invalidInput, "tenant \(tenant) does not impersonate; all-folders mode needs impersonation "
                                 + "(SubscribeToAllFolders cannot name another mailbox): watch a list of folders instead")
            }
            all = true
            folders = []
        case false?:
            all = false
        case nil:
            break
        }
        for folder in update.removeFolders {
            guard !all else { throw StoreError(.invalidInput, "the mailbox watches all folders: --remove-folder needs a list (--folders-list)") }
            guard let index = folders.firstIndex(of: folder) else { throw StoreError(.invalidInput, "folder \(folder) is not watched") }
            folders.remove(at: index)
        }
        for folder in update.addFolders {
            guard !all else { throw StoreError(.invalidInput, "the mailbox watches all folders already: --add-folder needs a list (--folders-list)") }
            guard !folders.contains(folder) else { throw StoreError(.invalidInput, "folder \(folder) is already watched") }
            folders.append(folder)
        }
        if all { return .allFolders }
        if folders.isEmpty {
            // Back from all folders with no list given: the default. Removing the last one is refused.
            guard current == .allFolders, update.removeFolders.isEmpty else {
                throw StoreError(.invalidInput, "a mailbox watches at least one folder: pause or remove it instead")
            }
            return .default
        }
        return .folders(folders)
    }

    /// The folders the mirror or the SyncStates hold for `mailboxID` that `after` no longer watches
    /// (all-folders mode: every folder key it learnt, and its hierarchy state).
    static func unwatched(mailboxID: Int64, before: WatchMode, after: WatchMode, on conn: PostgresConnection) async throws -> [String] {
        guard case .folders(let kept) = after else { return [] }
        let held = try await conn.query("""
            SELECT folder_id FROM folder_sync WHERE mailbox_id = $1
            UNION SELECT DISTINCT folder_id FROM items WHERE mailbox_id = $1
            """, [PostgresValue(mailboxID)], name: "mailbox.update_held_folders").rows.map { try $0.decode("folder_id", as: String.self) }
        var gone = Set(held).subtracting(kept)
        if case .folders(let old) = before { gone.formUnion(Set(old).subtracting(kept)) }
        return gone.sorted()
    }
}
