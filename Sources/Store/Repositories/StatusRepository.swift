public import Foundation

/// Mailbox status rows (`mailbox_status`): what each mailbox is doing, written in batches
/// (`StatusBatcher`), each row only while its tenant's lease is held.
public struct StatusRepository: Sendable {
    let pool: PostgresPool

    public init(pool: PostgresPool) { self.pool = pool }

    public struct StatusUpdate: Sendable, Equatable {
        public var mailboxID: Int64
        public var state: String
        public var errorCode: String?
        public var errorMessage: String?
        public var consecutiveFailures: Int
        public var nextAttemptAt: Date?
        public var instanceID: String?
        /// The lease of the mailbox's tenant under which the row is written: it is written only
        /// while that lease is still held. nil: not written under a lease (tools, tests).
        public var lease: LeaseToken?

        public init(mailboxID: Int64, state: String, errorCode: String? = nil, errorMessage: String? = nil,
                    consecutiveFailures: Int = 0, nextAttemptAt: Date? = nil, instanceID: String? = nil,
                    lease: LeaseToken? = nil) {
            self.mailboxID = mailboxID
            self.state = state
            self.errorCode = errorCode
            self.errorMessage = errorMessage
            self.consecutiveFailures = consecutiveFailures
            self.nextAttemptAt = nextAttemptAt
            self.instanceID = instanceID
            self.lease = lease
        }
    }

    /// What `saveStatus` left out because the tenant's lease had moved: by lease, the mailboxes.
    public struct StatusResult: Sendable, Equatable {
        public var refused: [LeaseToken: [Int64]] = [:]

        public init(refused: [LeaseToken: [Int64]] = [:]) { self.refused = refused }
    }

    /// Upserts many status rows in one transaction; `state_since` moves only when the state changes.
    /// Rows whose tenant lease is no longer held are left out (returned in `refused`), so a stale
    /// entry never overwrites the new holder's row and never holds back the others. Rows of
    /// mailboxes that no longer exist (removed since the update was recorded) are skipped, not a
    /// foreign-key error that would fail the whole batch; nor is a row whose mailbox moved out of
    /// the lease's tenant written.
    @discardableResult
    public func saveStatus(_ updates: [StatusUpdate]) async throws -> StatusResult {
        guard !updates.isEmpty else { return StatusResult() }
        return try await pool.withTransaction { conn in
            // One lock query for all the batch's leases; the locks hold until the commit.
            let held = try await LeaseFence.held(Set(updates.compactMap(\.lease)), on: conn)
            var result = StatusResult()
            var writable: [StatusUpdate] = []
            for update in updates {
                if let lease = update.lease, !held.contains(lease) {
                    result.refused[lease, default: []].append(update.mailboxID)
                } else {
                    writable.append(update)
                }
            }
            guard !writable.isEmpty else { return result }
            try await conn.query("""
                INSERT INTO mailbox_status (mailbox_id, state, last_error_code, last_error_message,
                                            consecutive_failures, next_attempt_at, instance_id)
                SELECT id::bigint, st, ec, em, cf::integer, na::timestamptz, inst
                  FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
                              $8::text[]) AS u(id, st, ec, em, cf, na, inst, tid)
                 WHERE EXISTS (SELECT 1 FROM mailboxes m
                                WHERE m.id = u.id::bigint AND (u.tid IS NULL OR m.tenant_id = u.tid::bigint))
                ON CONFLICT (mailbox_id) DO UPDATE SET
                    state_since = CASE WHEN mailbox_status.state = EXCLUDED.state THEN mailbox_status.state_since ELSE now() END,
                    state = EXCLUDED.state,
                    last_error_code = coalesce(EXCLUDED.last_error_code, mailbox_status.last_error_code),
                    last_error_message = coalesce(EXCLUDED.last_error_message, mailbox_status.last_error_message),
                    consecutive_failures = EXCLUDED.consecutive_failures, next_attempt_at = EXCLUDED.next_attempt_at,
                    instance_id = EXCLUDED.instance_id, updated_at = now()
                """,
                [.array(writable.map { String($0.mailboxID) }), .array(writable.map(\.state)),
                 .array(writable.map(\.errorCode)), .array(writable.map(\.errorMessage)),
                 .array(writable.map { String($0.consecutiveFailures) }),
                 .array(writable.map { $0.nextAttemptAt.map(PostgresTimestamp.format) }),
                 .array(writable.map(\.instanceID)), .array(writable.map { $0.lease.map { String($0.tenantID) } })],
                name: "status.save")
            return result
        }
    }

    // MARK: instances

    /// Marks every non-idle status row written under `instanceID` idle, whatever tenant lease it
    /// belongs to: for tools and tests. The fleet marks a tenant's mailboxes idle when it releases
    /// the lease (`LeaseRepository.release`), which is fenced.
    public func markIdle(instanceID: String) async throws {
        try await pool.withConnection { conn in
            try await conn.query("""
                UPDATE mailbox_status SET state = 'idle', state_since = now(), next_attempt_at = NULL, updated_at = now()
                 WHERE instance_id = $1 AND state NOT IN ('idle', 'paused')
                """, [PostgresValue(instanceID)], name: "status.mark_idle")
        }
    }
}
