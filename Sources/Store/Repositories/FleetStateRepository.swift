public import Foundation

/// What the supervisor and mailbox actors persist besides checkpoints: subscriptions, sync states,
/// mirror snapshots for full resyncs, mailbox status and instance heartbeats.
public struct FleetStateRepository: Sendable {
    let pool: PostgresPool

    public init(pool: PostgresPool) { self.pool = pool }

    // MARK: subscriptions

    public struct SubscriptionRecord: Sendable, Equatable {
        public var mailboxID: Int64
        public var subscriptionID: String
        public var groupKey: String
        public var anchorMailbox: String
        public var affinityCookie: String?

        public init(mailboxID: Int64, subscriptionID: String, groupKey: String, anchorMailbox: String, affinityCookie: String?) {
            self.mailboxID = mailboxID
            self.subscriptionID = subscriptionID
            self.groupKey = groupKey
            self.anchorMailbox = anchorMailbox
            self.affinityCookie = affinityCookie
        }
    }

    public func saveSubscription(_ s: SubscriptionRecord) async throws {
        try await pool.withConnection { conn in
            try await conn.query("""
                INSERT INTO subscriptions (mailbox_id, subscription_id, group_key, anchor_mailbox, affinity_cookie)
                VALUES ($1, $2, $3, $4, $5)
                ON CONFLICT (mailbox_id) DO UPDATE SET subscription_id = EXCLUDED.subscription_id,
                    group_key = EXCLUDED.group_key, anchor_mailbox = EXCLUDED.anchor_mailbox,
                    affinity_cookie = EXCLUDED.affinity_cookie, created_at = now(),
                    last_event_at = NULL, last_heartbeat_at = NULL
                """, [PostgresValue(s.mailboxID), PostgresValue(s.subscriptionID), PostgresValue(s.groupKey),
                      PostgresValue(s.anchorMailbox), PostgresValue(s.affinityCookie)], name: "subscription.save")
        }
    }

    public func deleteSubscription(mailboxID: Int64) async throws {
        try await pool.withConnection { conn in
            try await conn.query("DELETE FROM subscriptions WHERE mailbox_id = $1", [PostgresValue(mailboxID)],
                                 name: "subscription.delete")
        }
    }

    public func subscriptions(tenantID: Int64) async throws -> [SubscriptionRecord] {
        try await pool.withConnection { conn in
            try await conn.query("""
                SELECT s.mailbox_id, s.subscription_id, s.group_key, s.anchor_mailbox, s.affinity_cookie
                  FROM subscriptions s JOIN mailboxes m ON m.id = s.mailbox_id WHERE m.tenant_id = $1
                """, [PostgresValue(tenantID)], name: "subscription.list").rows.map {
                SubscriptionRecord(mailboxID: try $0.decode("mailbox_id"), subscriptionID: try $0.decode("subscription_id"),
                                   groupKey: try $0.decode("group_key"), anchorMailbox: try $0.decode("anchor_mailbox"),
                                   affinityCookie: try $0.decode("affinity_cookie"))
            }
        }
    }

    /// Records stream liveness for many subscriptions at once (one statement per batch).
    public func touchSubscriptions(heartbeat mailboxIDs: [Int64], events eventMailboxIDs: [Int64]) async throws {
        guard !mailboxIDs.isEmpty || !eventMailboxIDs.isEmpty else { return }
        try await pool.withConnection { conn in
            try await conn.query("""
                UPDATE subscriptions SET
                    last_heartbeat_at = CASE WHEN mailbox_id = ANY($1::bigint[]) THEN now() ELSE last_heartbeat_at END,
                    last_event_at = CASE WHEN mailbox_id = ANY($2::bigint[]) THEN now() ELSE last_event_at END
                 WHERE mailbox_id = ANY($1::bigint[]) OR mailbox_id = ANY($2::bigint[])
                """, [.array(mailboxIDs.map { String($0) }), .array(eventMailboxIDs.map { String($0) })],
                name: "subscription.touch")
        }
    }

    // MARK: folder sync state

    /// Stored SyncStates of a mailbox, by folder ('' when a folder was never synced or was reset).
    public func syncStates(mailboxID: Int64) async throws -> [String: String] {
        try await pool.withConnection { conn in
            var states: [String: String] = [:]
            for row in try await conn.query("SELECT folder_id, sync_state FROM folder_sync WHERE mailbox_id = $1",
                                            [PostgresValue(mailboxID)], name: "folder_sync.load") {
                states[try row.decode("folder_id")] = try row.decode("sync_state")
            }
            return states
        }
    }

    /// Forgets a folder's SyncState (ErrorInvalidSyncStateData): the next sync starts from scratch.
    public func resetSyncState(mailboxID: Int64, folderID: String) async throws {
        try await pool.withConnection { conn in
            try await conn.query("UPDATE folder_sync SET sync_state = '' WHERE mailbox_id = $1 AND folder_id = $2",
                                 [PostgresValue(mailboxID), PostgresValue(folderID)], name: "folder_sync.reset")
        }
    }

    /// The mirror of one folder (id → change key, read state), which a full resync diffs against.
    public func mirror(mailboxID: Int64, folderID: String) async throws -> [String: MirrorEntry] {
        try await pool.withConnection { conn in
            var entries: [String: MirrorEntry] = [:]
            for row in try await conn.query(
                "SELECT item_id, change_key, is_read FROM items WHERE mailbox_id = $1 AND folder_id = $2",
                [PostgresValue(mailboxID), PostgresValue(folderID)], name: "items.mirror") {
                entries[try row.decode("item_id")] = MirrorEntry(changeKey: try row.decode("change_key"),
                                                                 isRead: try row.decode("is_read"))
            }
            return entries
        }
    }

    /// The mirror's rows of some items of a mailbox (whatever folder they are in).
    public func mirrorItems(mailboxID: Int64, itemIDs: [String]) async throws -> [String: MirrorItem] {
        try await pool.withConnection { conn in
            var items: [String: MirrorItem] = [:]
            for row in try await conn.query("""
                SELECT folder_id, item_id, change_key, is_read, subject, sender, received_at, size_bytes, has_attachments
                  FROM items WHERE mailbox_id = $1 AND item_id = ANY($2::text[])
                """, [PostgresValue(mailboxID), .array(itemIDs)], name: "items.by_id") {
                let item = MirrorItem(
                    folderID: try row.decode("folder_id"), itemID: try row.decode("item_id"),
                    changeKey: try row.decode("change_key"), isRead: try row.decode("is_read"),
                    subject: try row.decode("subject"), sender: try row.decode("sender"),
                    receivedAt: try row.decode("received_at"), size: try row.decode("size_bytes"),
                    hasAttachments: try row.decode("has_attachments"))
                items[item.itemID] = item
            }
            return items
        }
    }

    public struct MirrorEntry: Sendable, Equatable {
        public var changeKey: String
        public var isRead: Bool?

        public init(changeKey: String, isRead: Bool?) {
            self.changeKey = changeKey
            self.isRead = isRead
        }
    }

    // MARK: mailbox status

    public struct StatusUpdate: Sendable, Equatable {
        public var mailboxID: Int64
        public var state: String
        public var errorCode: String?
        public var errorMessage: String?
        public var consecutiveFailures: Int
        public var nextAttemptAt: Date?
        public var instanceID: String?

        public init(mailboxID: Int64, state: String, errorCode: String? = nil, errorMessage: String? = nil,
                    consecutiveFailures: Int = 0, nextAttemptAt: Date? = nil, instanceID: String? = nil) {
            self.mailboxID = mailboxID
            self.state = state
            self.errorCode = errorCode
            self.errorMessage = errorMessage
            self.consecutiveFailures = consecutiveFailures
            self.nextAttemptAt = nextAttemptAt
            self.instanceID = instanceID
        }
    }

    /// Upserts many status rows in one statement; `state_since` moves only when the state changes.
    /// Rows of mailboxes that no longer exist (removed since the update was recorded) are skipped,
    /// not a foreign-key error that would fail the whole batch.
    public func saveStatus(_ updates: [StatusUpdate]) async throws {
        guard !updates.isEmpty else { return }
        try await pool.withConnection { conn in
            try await conn.query("""
                INSERT INTO mailbox_status (mailbox_id, state, last_error_code, last_error_message,
                                            consecutive_failures, next_attempt_at, instance_id)
                SELECT id::bigint, st, ec, em, cf::integer, na::timestamptz, inst
                  FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[])
                       AS u(id, st, ec, em, cf, na, inst)
                 WHERE EXISTS (SELECT 1 FROM mailboxes m WHERE m.id = u.id::bigint)
                ON CONFLICT (mailbox_id) DO UPDATE SET
                    state_since = CASE WHEN mailbox_status.state = EXCLUDED.state THEN mailbox_status.state_since ELSE now() END,
                    state = EXCLUDED.state,
                    last_error_code = coalesce(EXCLUDED.last_error_code, mailbox_status.last_error_code),
                    last_error_message = coalesce(EXCLUDED.last_error_message, mailbox_status.last_error_message),
                    consecutive_failures = EXCLUDED.consecutive_failures, next_attempt_at = EXCLUDED.next_attempt_at,
                    instance_id = EXCLUDED.instance_id, updated_at = now()
                """,
                [.array(updates.map { String($0.mailboxID) }), .array(updates.map(\.state)),
                 .array(updates.map(\.errorCode)), .array(updates.map(\.errorMessage)),
                 .array(updates.map { String($0.consecutiveFailures) }),
                 .array(updates.map { $0.nextAttemptAt.map(PostgresTimestamp.format) }),
                 .array(updates.map(\.instanceID))],
                name: "status.save")
        }
    }

    // MARK: instances

    /// `staleAfter`: how long without a heartbeat before this instance's status rows read `stale`.
    public func heartbeat(instanceID: String, hostname: String, pid: Int, version: String,
                          staleAfter: Duration = .seconds(90)) async throws {
        let seconds = max(1, Int(staleAfter.components.seconds))
        try await pool.withConnection { conn in
            try await conn.query("""
                INSERT INTO fleet_instances (instance_id, hostname, pid, version, stale_after_seconds)
                VALUES ($1, $2, $3, $4, $5)
                ON CONFLICT (instance_id) DO UPDATE SET heartbeat_at = now(), hostname = EXCLUDED.hostname,
                    pid = EXCLUDED.pid, version = EXCLUDED.version, stopped_at = NULL,
                    stale_after_seconds = EXCLUDED.stale_after_seconds
                """, [PostgresValue(instanceID), PostgresValue(hostname), PostgresValue(pid), PostgresValue(version),
                      PostgresValue(seconds)],
                name: "instance.heartbeat")
        }
    }

    /// A clean shutdown: this instance's mailboxes are no longer watched by anyone (until another
    /// instance takes their tenants and writes its own status).
    public func markIdle(instanceID: String) async throws {
        try await pool.withConnection { conn in
            try await conn.query("""
                UPDATE mailbox_status SET state = 'idle', state_since = now(), next_attempt_at = NULL, updated_at = now()
                 WHERE instance_id = $1 AND state NOT IN ('idle', 'paused')
                """, [PostgresValue(instanceID)], name: "status.mark_idle")
        }
    }

    public func markStopped(instanceID: String) async throws {
        try await pool.withConnection { conn in
            try await conn.query("UPDATE fleet_instances SET stopped_at = now() WHERE instance_id = $1",
                                 [PostgresValue(instanceID)], name: "instance.stopped")
        }
    }
}
