import Foundation
import Logging
import Support

/// Client-credentials tokens for one tenant (EWS §9.1).
///
/// Caches the token and refreshes it `refreshMargin` before expiry. At most one token request is
/// in flight; concurrent callers await it. The client secret never appears in errors or logs; a
/// failed request reports the identity provider's `error` / `error_description`.
///
/// The token request runs as `endpoint`: the tenant's own TLS settings (CA bundle, verification
/// switch) and proxy, without credentials (the secret goes in the form). An identity provider
/// behind the tenant's private CA is trusted exactly when its EWS server would be.
actor OAuth2TokenProvider {
    typealias Fetch = @Sendable (HTTPRequest) async throws -> HTTPResponse

    /// One provider, and so one cached token, per client credentials and token-request identity.
    struct Key: Hashable {
        var credentials: OAuth2ClientCredentials
        var endpoint: HTTPIdentity
    }

    struct Token: Sendable {
        var value: Secret
        /// On the provider's clock.
        var expiresAt: Duration
    }

    let credentials: OAuth2ClientCredentials
    /// Who the token request runs as (`HTTPIdentity.tokenEndpointIdentity`).
    let endpoint: HTTPIdentity
    private let fetch: Fetch
    /// Monotonic "now" as time since an arbitrary origin; injected so tests control expiry.
    private let now: @Sendable () -> Duration
    private let refreshMargin: Duration
    private let timeouts: HTTPTimeouts
    private var token: Token?
    private var inFlight: Task<Token, any Error>?
    /// Token requests made; observable in tests.
    private(set) var requestCount = 0

    init(
        credentials: OAuth2ClientCredentials, endpoint: HTTPIdentity, refreshMargin: Duration = .seconds(300),
        timeouts: HTTPTimeouts = HTTPTimeouts(connect: .seconds(10), total: .seconds(30)),
        now: @escaping @Sendable () -> Duration = OAuth2TokenProvider.continuousNow(),
        fetch: @escaping Fetch
    ) {
        self.credentials = credentials
        self.endpoint = endpoint
        self.refreshMargin = refreshMargin
        self.timeouts = timeouts
        self.now = now
        self.fetch = fetch
    }

    static func continuousNow() -> @Sendable () -> Duration {
        let origin = ContinuousClock.now
        return { ContinuousClock.now - origin }
    }

    /// A token valid for at least `refreshMargin` (or the freshest one the provider gives).
    func currentToken() async throws -> Secret {
        if let token, now() < token.expiresAt - refreshMargin { return token.value }
        return try await refresh().value
    }

    /// After a 401: fetches a new token unless someone already replaced `rejected`.
    func token(replacing rejected: Secret) async throws -> Secret {
        if let token, token.value != rejected, now() < token.expiresAt { return token.value }
        return try await refresh().value
    }

    private func refresh() async throws -> Token {
        if let inFlight { return try await inFlight.value }
        requestCount += 1
        let task = Task { try await self.requestToken() }
        inFlight = task
        defer { inFlight = nil }
        let token = try await task.value
        self.token = token
        return token
    }

    private func requestToken() async throws -> Token {
        let form = [
            ("grant_type", "client_credentials"),
            ("client_id", credentials.clientID),
            ("client_secret", credentials.clientSecret.unredactedValue),
            ("scope", credentials.scope),
        ].map { "\($0.0)=\(Self.formEncode($0.1))" }.joined(separator: "&")
        let request = HTTPRequest(
            method: "POST", url: credentials.tokenURL,
            headers: [(name: "Content-Type", value: "application/x-www-form-urlencoded"), (name: "Accept", value: "application/json")],
            body: Data(form.utf8), identity: endpoint, timeouts: timeouts)
        let started = now()
        let response: HTTPResponse
        do {
            response = try await fetch(request)
        } catch let error as HTTPError {
            // A TLS failure stays one, as it would at the EWS endpoint: a configuration problem
            // (the CA bundle) that trying again does not fix.
            throw HTTPError(code: error.code == .tls ? .tls : .tokenEndpoint, message: "token request failed: \(error.message)",
                            curlCode: error.curlCode)
        }
        let json = (try? JSONSerialization.jsonObject(with: response.body)) as? [String: Any]
        guard (200..<300).contains(response.status) else {
            let error = json?["error"] as? String
            let description = json?["error_description"] as? String
            var text = [error, description].compactMap { $0 }.joined(separator: ": ")
            if text.isEmpty { text = String(decoding: response.body.prefix(300), as: UTF8.self) }
            throw HTTPError(
                code: .tokenEndpoint, message: "identity provider refused the token request: \(redact(text))",
                status: response.status)
        }
        guard let access = json?["access_token"] as? String, !access.isEmpty else {
            throw HTTPError(code: .tokenEndpoint, message: "token response has no access_token", status: response.status)
        }
        let lifetime = (json?["expires_in"] as? Int) ?? Int((json?["expires_in"] as? String) ?? "") ?? 3600
        return Token(value: Secret(access), expiresAt: started + .seconds(lifetime))
    }

    /// Belt and braces: an identity provider echoing the secret must not leak it into an error.
    private func redact(_ text: String) -> String {
        let secret = credentials.clientSecret.unredactedValue
        guard !secret.isEmpty else { return text }
        return text.replacingOccurrences(of: secret, with: "<redacted>")
    }

    static func formEncode(_ s: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return s.addingPercentEncoding(withAllowedCharacters: allowed) ?? s
    }
}
