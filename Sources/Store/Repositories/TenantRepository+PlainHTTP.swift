/// The service's side of the plain-http rule (`PlainHTTPRefusal`).
extension TenantRepository {
    /// Disables `tenant`, which the service refused to run because of `reason`, but only while
    /// the row still holds what it was judged on (the URLs, the auth kind and the permission): an
    /// operator's fix that lands between the read and this write is never overwritten. Returns
    /// whether it disabled the row.
    @discardableResult
    public func disableRefused(_ tenant: Tenant, reason: String) async throws -> Bool {
        try await pool.withConnection { conn in
            try await conn.query("""
                UPDATE tenants SET state = 'disabled', state_reason = $2, updated_at = now()
                 WHERE name = $1 AND state <> 'disabled' AND NOT allow_plain_http AND auth_kind = $3
                   AND ews_url = $4 AND autodiscover_url IS NOT DISTINCT FROM $5 AND token_url IS NOT DISTINCT FROM $6
                """,
                [PostgresValue(tenant.name), PostgresValue(reason), PostgresValue(tenant.authKind.rawValue),
                 PostgresValue(tenant.ewsURL), PostgresValue(tenant.autodiscoverURL), PostgresValue(tenant.tokenURL)],
                name: "tenant.disable_refused").affectedRows == 1
        }
    }
}
