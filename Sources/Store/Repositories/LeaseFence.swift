/// The check every lease-dependent write makes inside its own transaction: the tenant's lease is
/// still held by this run at this epoch. `SELECT … FOR SHARE` on the lease row makes a concurrent
/// takeover (an UPDATE of that row) wait until the write commits, and a takeover that committed
/// first changed the epoch (and the holder), so the check fails: a stale holder's write lands
/// entirely before the new holder starts, or not at all.
public enum LeaseFence {
    /// Throws `LeaseLostError` unless `lease` is still held. nil: a write not made under a lease
    /// (an operator's tool, a test), which is not fenced.
    public static func check(_ lease: LeaseToken?, on conn: PostgresConnection) async throws {
        guard let lease else { return }
        let held = try await conn.query("""
            SELECT 1 FROM tenant_leases
             WHERE tenant_id = $1 AND instance_id = $2 AND holder_run = $3 AND epoch = $4 FOR SHARE
            """, [PostgresValue(lease.tenantID), PostgresValue(lease.instanceID), PostgresValue(lease.holder.run),
                  PostgresValue(lease.epoch)], name: "lease.check")
        guard !held.rows.isEmpty else { throw LeaseLostError(lease: lease) }
    }

    /// Which of `leases` are still held, in one statement, each locked like `check` does. For writes
    /// that batch rows of several tenants: the rows of a lost lease are left out, the rest written.
    public static func held(_ leases: Set<LeaseToken>, on conn: PostgresConnection) async throws -> Set<LeaseToken> {
        guard !leases.isEmpty else { return [] }
        let list = Array(leases)
        let rows = try await conn.query("""
            SELECT l.tenant_id, l.instance_id, l.holder_run, l.epoch FROM tenant_leases l
              JOIN unnest($1::text[], $2::text[], $3::text[], $4::text[]) AS u(tid, inst, run, ep)
                ON l.tenant_id = u.tid::bigint AND l.instance_id = u.inst AND l.holder_run = u.run
               AND l.epoch = u.ep::bigint
             ORDER BY l.tenant_id
               FOR SHARE OF l
            """, [.array(list.map { String($0.tenantID) }), .array(list.map(\.instanceID)), .array(list.map(\.holder.run)),
                  .array(list.map { String($0.epoch) })], name: "lease.check_many").rows
        return Set(try rows.map {
            LeaseToken(tenantID: try $0.decode("tenant_id"),
                       holder: LeaseHolder(instanceID: try $0.decode("instance_id"), run: try $0.decode("holder_run")),
                       epoch: try $0.decode("epoch"))
        })
    }

    /// `body` in a transaction that first checks `lease` (see `check`).
    static func write<T: Sendable>(_ lease: LeaseToken?, on pool: PostgresPool,
                                   _ body: (PostgresConnection) async throws -> T) async throws -> T {
        try await pool.withTransaction { conn in
            try await check(lease, on: conn)
            return try await body(conn)
        }
    }
}

/// The tenant's lease moved to another holder (or its epoch changed): the write was refused whole,
/// nothing of it was committed, and this run must stop the tenant (retrying cannot succeed).
public struct LeaseLostError: Error, CustomStringConvertible, Sendable {
    public var lease: LeaseToken
    public var tenantID: Int64 { lease.tenantID }
    public var epoch: Int64 { lease.epoch }

    public init(lease: LeaseToken) { self.lease = lease }

    public var description: String { "lease of tenant \(tenantID) at epoch \(epoch) is no longer held by \(lease.holder)" }
}

/// The second check of a checkpoint written under a lease: its folder is still watched. `mailbox
/// update` changes the watched folders with the mailbox row locked FOR UPDATE; `FOR SHARE` here
/// makes a checkpoint in flight finish first, and one that comes after sees the new list. So a
/// sync that was running when its folder stopped being watched writes nothing, and a `--purge`
/// is never undone by a late page. All-folders mode watches whatever folder it syncs.
public enum FolderFence {
    static func check(_ cp: Checkpoint, on conn: PostgresConnection) async throws {
        guard cp.lease != nil else { return }
        let watched = try await conn.query("""
            SELECT 1 FROM mailboxes WHERE id = $1 AND (watch_all OR $2 = ANY(folders)) FOR SHARE
            """, [PostgresValue(cp.mailboxID), PostgresValue(cp.folderID)], name: "checkpoint.folder_watched")
        guard !watched.rows.isEmpty else { throw FolderNotWatchedError(mailboxID: cp.mailboxID, folder: cp.folderID) }
    }
}

/// A checkpoint for a folder its mailbox no longer watches (or of a mailbox that is gone) was
/// refused whole: the mailbox's settings changed under a running sync, and its actor is replaced.
public struct FolderNotWatchedError: Error, CustomStringConvertible, Sendable {
    public var mailboxID: Int64
    public var folder: String

    public var description: String { "folder \(folder) of mailbox \(mailboxID) is no longer watched" }
}
