/// Streaming subscriptions: the id each mailbox holds, on which server, with which affinity cookie,
/// and when its stream last brought a heartbeat or an event. Writes are fenced by the tenant's
/// lease (`LeaseFence`), so a warm restart (or the next holder) finds the ids the last holder kept.
public struct SubscriptionRepository: Sendable {
    let pool: PostgresPool

    public init(pool: PostgresPool) { self.pool = pool }

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

    /// Records the mailbox's subscription, fenced by its tenant's lease (see `LeaseFence`): a holder
    /// whose lease was taken over must not overwrite the id the new holder subscribed.
    public func saveSubscription(_ s: SubscriptionRecord, lease: LeaseToken) async throws {
        try await LeaseFence.write(lease, on: pool) { conn in
            try await conn.query("""
                INSERT INTO subscriptions (mailbox_id, subscription_id, group_key, anchor_mailbox, affinity_cookie)
                SELECT $1, $2, $3, $4, $5 WHERE EXISTS (SELECT 1 FROM mailboxes WHERE id = $1 AND tenant_id = $6)
                ON CONFLICT (mailbox_id) DO UPDATE SET subscription_id = EXCLUDED.subscription_id,
                    group_key = EXCLUDED.group_key, anchor_mailbox = EXCLUDED.anchor_mailbox,
                    affinity_cookie = EXCLUDED.affinity_cookie, created_at = now(),
                    last_event_at = NULL, last_heartbeat_at = NULL
                """, [PostgresValue(s.mailboxID), PostgresValue(s.subscriptionID), PostgresValue(s.groupKey),
                      PostgresValue(s.anchorMailbox), PostgresValue(s.affinityCookie), PostgresValue(lease.tenantID)],
                name: "subscription.save")
        }
    }

    /// Forgets the mailbox's subscription, fenced like `saveSubscription`.
    public func deleteSubscription(mailboxID: Int64, lease: LeaseToken) async throws {
        try await LeaseFence.write(lease, on: pool) { conn in
            try await conn.query("""
                DELETE FROM subscriptions s USING mailboxes m
                 WHERE s.mailbox_id = $1 AND m.id = s.mailbox_id AND m.tenant_id = $2
                """, [PostgresValue(mailboxID), PostgresValue(lease.tenantID)], name: "subscription.delete")
        }
    }

    /// Forgets what a tenant learnt from its server under settings that changed (see
    /// `TenantReload`): its subscriptions and, with `syncStates`, the SyncStates and EWS folder ids
    /// of its folders, so each folder syncs again from scratch. The mirror stays: that sync is diffed
    /// against it. Fenced by the tenant's lease (see `LeaseFence`).
    public func forgetServerState(tenantID: Int64, syncStates: Bool, lease: LeaseToken) async throws {
        try await LeaseFence.write(lease, on: pool) { try await Self.forgetServerState(tenantID: tenantID, syncStates: syncStates, on: $0) }
    }

    static func forgetServerState(tenantID: Int64, syncStates: Bool, on conn: PostgresConnection) async throws {
        try await conn.query("""
            DELETE FROM subscriptions s USING mailboxes m WHERE m.id = s.mailbox_id AND m.tenant_id = $1
            """, [PostgresValue(tenantID)], name: "subscription.forget_tenant")
        guard syncStates else { return }
        try await conn.query("""
            UPDATE folder_sync f SET sync_state = '', ews_folder_id = NULL FROM mailboxes m
             WHERE m.id = f.mailbox_id AND m.tenant_id = $1
            """, [PostgresValue(tenantID)], name: "folder_sync.forget_tenant")
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

    /// Stream liveness of some subscriptions of one tenant, recorded under its lease.
    public struct SubscriptionActivity: Sendable, Equatable {
        /// nil: not recorded under a lease (tools, tests), so not fenced.
        public var lease: LeaseToken?
        public var heartbeat: [Int64]
        public var events: [Int64]

        public init(lease: LeaseToken?, heartbeat: [Int64], events: [Int64]) {
            self.lease = lease
            self.heartbeat = heartbeat
            self.events = events
        }
    }

    /// Records stream liveness for many subscriptions at once (one transaction, one UPDATE). The
    /// activity of a tenant whose lease moved is left out and its lease returned: a stale holder's
    /// heartbeats must not make the new holder's subscriptions look alive, and must not hold back
    /// the other tenants' either.
    @discardableResult
    public func touchSubscriptions(_ activity: [SubscriptionActivity]) async throws -> Set<LeaseToken> {
        let activity = activity.filter { !$0.heartbeat.isEmpty || !$0.events.isEmpty }
        guard !activity.isEmpty else { return [] }
        return try await pool.withTransaction { conn in
            let leases = Set(activity.compactMap(\.lease))
            let held = try await LeaseFence.held(leases, on: conn)
            let writable = activity.filter { $0.lease.map(held.contains) ?? true }
            // (mailbox, tenant it must belong to or NULL, heartbeat?, event?) per row.
            var rows: [(mailbox: Int64, tenant: Int64?, heartbeat: Bool, event: Bool)] = []
            for a in writable {
                let beats = Set(a.heartbeat), events = Set(a.events)
                for id in beats.union(events).sorted() {
                    rows.append((id, a.lease?.tenantID, beats.contains(id), events.contains(id)))
                }
            }
            if !rows.isEmpty {
                try await conn.query("""
                    UPDATE subscriptions s SET
                        last_heartbeat_at = CASE WHEN u.hb::boolean THEN now() ELSE s.last_heartbeat_at END,
                        last_event_at = CASE WHEN u.ev::boolean THEN now() ELSE s.last_event_at END
                      FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) AS u(id, tid, hb, ev)
                     WHERE s.mailbox_id = u.id::bigint
                       AND (u.tid IS NULL OR s.mailbox_id IN (SELECT id FROM mailboxes WHERE tenant_id = u.tid::bigint))
                    """, [.array(rows.map { String($0.mailbox) }), .array(rows.map { $0.tenant.map { String($0) } }),
                          .array(rows.map { String($0.heartbeat) }), .array(rows.map { String($0.event) })],
                    name: "subscription.touch")
            }
            return leases.subtracting(held)
        }
    }
}
