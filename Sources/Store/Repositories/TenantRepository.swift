public import Foundation
public import Support

/// Tenants: add, look up, list, change state, remove. Secrets are sealed before they reach SQL.
public struct TenantRepository: Sendable {
    let pool: PostgresPool

    public init(pool: PostgresPool) { self.pool = pool }

    static let columns = """
        id, name, ews_url, autodiscover_url, auth_kind, identity, token_url, scope, secret_ciphertext,
        secret_key_id, impersonation, max_concurrent_requests, request_rate, subscriptions_per_connection,
        hanging_connections, ca_bundle, insecure_tls, allow_plain_http, state, state_reason, grouping, grouping_reason,
        sync_mode, poll_interval_seconds, item_properties, calendar_window, created_at, updated_at
        """

    /// Adds a tenant. One whose credential would go to a URL that is not https:// without its
    /// permission is refused with a `PlainHTTPRefusal`.
    @discardableResult
    public func add(_ new: NewTenant, secret: Secret?, keyring: SecretKeyring) async throws -> Tenant {
        if let refusal = new.plainHTTPRefusal { throw refusal }
        let sealed = try secret.map { try keyring.seal($0, tenant: new.name) }
        return try await StoreError.translating("tenant \(new.name)") {
            try await pool.withConnection { conn in
                let result = try await conn.query("""
                    INSERT INTO tenants (name, ews_url, autodiscover_url, auth_kind, identity, token_url, scope,
                        secret_ciphertext, secret_key_id, impersonation, max_concurrent_requests, request_rate,
                        subscriptions_per_connection, ca_bundle, insecure_tls, hanging_connections, allow_plain_http,
                        sync_mode, poll_interval_seconds, item_properties, calendar_window)
                    VALUES ($1, $2, $3, $4, $5, $6, $7, $8::bytea, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21)
                    RETURNING \(Self.columns)
                    """,
                    [PostgresValue(new.name), PostgresValue(new.ewsURL), PostgresValue(new.autodiscoverURL),
                     PostgresValue(new.authKind.rawValue), PostgresValue(new.identity), PostgresValue(new.tokenURL),
                     PostgresValue(new.scope), sealed.map { PostgresValue($0.ciphertext) } ?? .null,
                     PostgresValue(sealed?.keyID), PostgresValue(new.impersonation),
                     PostgresValue(new.throttling.maxConcurrentRequests), PostgresValue(new.throttling.requestRate),
                     PostgresValue(new.throttling.subscriptionsPerConnection), PostgresValue(new.caBundle),
                     PostgresValue(new.insecureTLS), PostgresValue(new.throttling.hangingConnections),
                     PostgresValue(new.allowPlainHTTP), PostgresValue(new.syncMode.rawValue),
                     PostgresValue(new.pollIntervalSeconds), PostgresValue(new.itemProperties.spec),
                     PostgresValue(new.calendarWindow.description)],
                    name: "tenant.add")
                return try Tenant(row: result.rows[0])
            }
        }
    }

    public func find(name: String) async throws -> Tenant? {
        try await pool.withConnection { conn in
            try await conn.query("SELECT \(Self.columns) FROM tenants WHERE name = $1", [PostgresValue(name)],
                                 name: "tenant.find").rows.first.map(Tenant.init(row:))
        }
    }

    /// Like `find`, but an unknown tenant is a clear error.
    public func require(name: String) async throws -> Tenant {
        guard let tenant = try await find(name: name) else {
            throw StoreError(.notFound, "unknown tenant \(name)")
        }
        return tenant
    }

    public func list() async throws -> [Tenant] {
        try await pool.withConnection { conn in
            try await conn.query("SELECT \(Self.columns) FROM tenants ORDER BY name", name: "tenant.list")
                .rows.map(Tenant.init(row:))
        }
    }

    /// Sets the tenant's state. `lease`: written by the fleet under the tenant's lease (marking it
    /// blocked, or active again), then only while that lease is held, so a stale holder cannot stop
    /// the tenant under the new holder; nil for an operator's change.
    public func setState(name: String, _ state: TenantState, reason: String?, lease: LeaseToken? = nil) async throws {
        try await LeaseFence.write(lease, on: pool) { conn in
            let r = try await conn.query(
                "UPDATE tenants SET state = $2, state_reason = $3, updated_at = now() WHERE name = $1",
                [PostgresValue(name), PostgresValue(state.rawValue), PostgresValue(reason)], name: "tenant.set_state")
            guard r.affectedRows == 1 else { throw StoreError(.notFound, "unknown tenant \(name)") }
        }
    }

    /// Records how the tenant's mailboxes share streaming connections, and why (nil: an operator's
    /// choice). Returns the row's new `updated_at`, so the writer can tell its own change from a
    /// later one. `lease`: as for `setState`.
    @discardableResult
    public func setGrouping(name: String, _ grouping: StreamGrouping, reason: String?,
                            lease: LeaseToken? = nil) async throws -> Date {
        try await LeaseFence.write(lease, on: pool) { conn in
            let r = try await conn.query(
                "UPDATE tenants SET grouping = $2, grouping_reason = $3, updated_at = now() WHERE name = $1 RETURNING updated_at",
                [PostgresValue(name), PostgresValue(grouping.rawValue), PostgresValue(reason)], name: "tenant.set_grouping")
            guard let row = r.rows.first else { throw StoreError(.notFound, "unknown tenant \(name)") }
            return try row.decode("updated_at", as: Date.self)
        }
    }

    /// Removes the tenant with its mailboxes, mirror and status; `changes` history stays.
    public func remove(name: String) async throws {
        try await pool.withConnection { conn in
            let r = try await conn.query("DELETE FROM tenants WHERE name = $1", [PostgresValue(name)], name: "tenant.remove")
            guard r.affectedRows == 1 else { throw StoreError(.notFound, "unknown tenant \(name)") }
        }
    }
}

extension Tenant {
    init(row: PostgresRow) throws {
        let ciphertext = try row.decode("secret_ciphertext", as: Data?.self)
        let keyID = try row.decode("secret_key_id", as: String?.self)
        guard let authKind = AuthKind(rawValue: try row.decode("auth_kind")),
              let state = TenantState(rawValue: try row.decode("state")),
              let grouping = StreamGrouping(rawValue: try row.decode("grouping")),
              let syncMode = SyncMode(rawValue: try row.decode("sync_mode"))
        else { throw StoreError(.invalidInput, "tenant row has an unknown auth kind, state, grouping or sync mode") }
        let settings = NewTenant(
            name: try row.decode("name"), ewsURL: try row.decode("ews_url"),
            autodiscoverURL: try row.decode("autodiscover_url"), authKind: authKind,
            identity: try row.decode("identity"), tokenURL: try row.decode("token_url"), scope: try row.decode("scope"),
            impersonation: try row.decode("impersonation"),
            throttling: ThrottlingPolicy(
                maxConcurrentRequests: try row.decode("max_concurrent_requests"),
                requestRate: try row.decode("request_rate"),
                subscriptionsPerConnection: try row.decode("subscriptions_per_connection"),
                hangingConnections: try row.decode("hanging_connections")),
            caBundle: try row.decode("ca_bundle"), insecureTLS: try row.decode("insecure_tls"),
            allowPlainHTTP: try row.decode("allow_plain_http"), syncMode: syncMode,
            pollIntervalSeconds: try row.decode("poll_interval_seconds"),
            itemProperties: try PropertyProfile(parsing: try row.decode("item_properties", as: String.self)),
            calendarWindow: try CalendarWindowSetting(parsing: try row.decode("calendar_window", as: String.self)))
        self.init(
            id: try row.decode("id"), settings: settings,
            sealedSecret: ciphertext.flatMap { c in keyID.map { SecretKeyring.Sealed(ciphertext: c, keyID: $0) } },
            state: state, stateReason: try row.decode("state_reason"), grouping: grouping,
            groupingReason: try row.decode("grouping_reason"), createdAt: try row.decode("created_at"),
            updatedAt: try row.decode("updated_at"))
    }
}
