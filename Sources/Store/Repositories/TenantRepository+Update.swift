public import Support
/// What `tenant update` changes; nil fields stay as they are.
public struct TenantUpdate: Sendable, Equatable {
    public var ewsURL: String?
    public var autodiscoverURL: String?
    public var authKind: AuthKind?
    public var identity: String?
    public var tokenURL: String?
    public var scope: String?
    public var impersonation: Bool?
    public var maxConcurrentRequests: Int?
    public var requestRate: Double?
    public var subscriptionsPerConnection: Int?
    public var hangingConnections: Int?
    public var state: TenantState?
    public var grouping: StreamGrouping?
    public var allowPlainHTTP: Bool?
    /// A path, or "" to go back to the system's CA store.
    public var caBundle: String?
    public var insecureTLS: Bool?
    public var syncMode: SyncMode?
    public var pollIntervalSeconds: Int?
    public var itemProperties: PropertyProfile?
    public var calendarWindow: CalendarWindowSetting?

    public init() {}
}

extension TenantRepository {
    /// Applies `update` and, if given, a new secret sealed under the current key, in one statement
    /// (inside a transaction, so that the check below can undo it).
    ///
    /// The row it leaves must pass the plain-http rule, judged on the row as updated (the URLs and
    /// the permission may come from the update or from what is stored): otherwise nothing changes
    /// and the error is a `PlainHTTPRefusal`. A disabled tenant is exempt, as it sends nothing: it
    /// can be disabled, and its URLs fixed, whatever it holds.
    ///
    /// A change that makes the tenant's subscriptions or SyncStates meaningless (see
    /// `TenantReload`) forgets them in the same transaction, so that whichever instance runs the
    /// tenant next, now or after a restart, starts from what the new settings can use. A running
    /// tenant picks the change up within a reconcile pass (the row's trigger wakes the supervisor).
    @discardableResult
    public func update(name: String, _ update: TenantUpdate, secret: Secret?, keyring: SecretKeyring) async throws -> Tenant {
        let sealed = try secret.map { try keyring.seal($0, tenant: name) }
        var parameters: [PostgresValue] = [
            PostgresValue(name), PostgresValue(update.ewsURL), PostgresValue(update.autodiscoverURL),
            PostgresValue(update.identity), PostgresValue(update.tokenURL), PostgresValue(update.scope),
        ]
        parameters.append(update.impersonation.map { PostgresValue($0) } ?? .null)
        parameters.append(update.maxConcurrentRequests.map { PostgresValue($0) } ?? .null)
        parameters.append(update.requestRate.map { PostgresValue($0) } ?? .null)
        parameters.append(update.subscriptionsPerConnection.map { PostgresValue($0) } ?? .null)
        parameters.append(sealed.map { PostgresValue($0.ciphertext) } ?? .null)
        parameters.append(PostgresValue(sealed?.keyID))
        parameters.append(PostgresValue(update.state?.rawValue))
        parameters.append(update.hangingConnections.map { PostgresValue($0) } ?? .null)
        parameters.append(PostgresValue(update.grouping?.rawValue))
        parameters.append(update.allowPlainHTTP.map { PostgresValue($0) } ?? .null)
        parameters.append(PostgresValue(update.authKind?.rawValue))
        parameters.append(PostgresValue(update.caBundle))
        parameters.append(update.insecureTLS.map { PostgresValue($0) } ?? .null)
        parameters.append(PostgresValue(NewTenant.defaultOAuthScope))
        parameters.append(PostgresValue(update.syncMode?.rawValue))
        parameters.append(update.pollIntervalSeconds.map { PostgresValue($0) } ?? .null)
        parameters.append(PostgresValue(update.itemProperties?.spec))
        parameters.append(PostgresValue(update.calendarWindow?.description))
        return try await StoreError.translating("tenant \(name)") {
            try await pool.withTransaction { conn in
                // The row as it was, locked until the commit: what changed decides what is forgotten.
                let before = try await conn.query("SELECT \(Self.columns) FROM tenants WHERE name = $1 FOR UPDATE",
                                                  [PostgresValue(name)], name: "tenant.lock").rows.first.map(Tenant.init(row:))
                guard let before else { throw StoreError(.notFound, "unknown tenant \(name)") }
                if (update.authKind ?? before.authKind) == .oauth2, (update.tokenURL ?? before.tokenURL) == nil {
                    throw StoreError(.invalidInput, "tenant \(name): oauth2 needs a token URL (--token-url)")
                }
                let result = try await conn.query("""
                    UPDATE tenants SET
                        ews_url = coalesce($2, ews_url), autodiscover_url = coalesce($3, autodiscover_url),
                        identity = coalesce($4, identity), token_url = coalesce($5, token_url),
                        scope = coalesce($6, scope, CASE WHEN $17 = 'oauth2' THEN $20 END),
                        impersonation = coalesce($7::boolean, impersonation),
                        max_concurrent_requests = coalesce($8::integer, max_concurrent_requests),
                        request_rate = coalesce($9::double precision, request_rate),
                        subscriptions_per_connection = coalesce($10::integer, subscriptions_per_connection),
                        secret_ciphertext = coalesce($11::bytea, secret_ciphertext),
                        secret_key_id = coalesce($12, secret_key_id),
                        state = coalesce($13, state),
                        hanging_connections = coalesce($14::integer, hanging_connections),
                        state_reason = CASE WHEN $13::text IS NULL THEN state_reason ELSE NULL END,
                        grouping = coalesce($15, grouping),
                        grouping_reason = CASE WHEN $15::text IS NULL THEN grouping_reason ELSE NULL END,
                        allow_plain_http = coalesce($16::boolean, allow_plain_http),
                        auth_kind = coalesce($17, auth_kind),
                        ca_bundle = CASE WHEN $18::text IS NULL THEN ca_bundle ELSE nullif($18, '') END,
                        insecure_tls = coalesce($19::boolean, insecure_tls),
                        sync_mode = coalesce($21, sync_mode),
                        poll_interval_seconds = coalesce($22::integer, poll_interval_seconds),
                        item_properties = coalesce($23, item_properties),
                        calendar_window = coalesce($24, calendar_window),
                        updated_at = now()
                     WHERE name = $1
                    RETURNING \(Self.columns)
                    """,
                    parameters,
                    name: "tenant.update")
                guard let row = result.rows.first else { throw StoreError(.notFound, "unknown tenant \(name)") }
                let tenant = try Tenant(row: row)
                // Thrown inside the transaction: the update rolls back.
                if tenant.state != .disabled, let refusal = tenant.plainHTTPRefusal { throw refusal }
                if let reload = TenantReload(from: before, to: tenant), reload.forgetsSubscriptions {
                    try await SubscriptionRepository.forgetServerState(tenantID: tenant.id, syncStates: reload.forgetsSyncStates, on: conn)
                }
                return tenant
            }
        }
    }
}
