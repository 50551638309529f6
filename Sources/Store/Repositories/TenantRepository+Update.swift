/// What `tenant update` changes; nil fields stay as they are.
public struct TenantUpdate: Sendable, Equatable {
    public var ewsURL: String?
    public var autodiscoverURL: String?
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
    @discardableResult
    public func update(name: String, _ update: TenantUpdate, secret: TenantSecret?, keyring: SecretKeyring) async throws -> Tenant {
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
        return try await StoreError.translating("tenant \(name)") {
            try await pool.withTransaction { conn in
                let result = try await conn.query("""
                    UPDATE tenants SET
                        ews_url = coalesce($2, ews_url), autodiscover_url = coalesce($3, autodiscover_url),
                        identity = coalesce($4, identity), token_url = coalesce($5, token_url), scope = coalesce($6, scope),
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
                return tenant
            }
        }
    }
}
