import Foundation

/// POST /t/{tenant}/oauth2/v2.0/token — client-credentials grant, as the Microsoft identity
/// platform answers it (JSON, `token_type` Bearer, `expires_in`).
struct TokenEndpoint {
    let world: SimWorld

    func handle(tenant: Tenant, request: SimRequest) -> SimResponse {
        guard request.method == .POST else { return error(.methodNotAllowed, "invalid_request", "Use POST.") }
        let form = SimRequest.parseForm(String(decoding: request.body, as: UTF8.self))
        guard form["grant_type"] == "client_credentials" else {
            return error(.badRequest, "unsupported_grant_type", "AADSTS70003: The app requested an unsupported grant type.")
        }
        // Client credentials need a `.default` scope (EWS: https://outlook.office365.com/.default).
        guard let scope = form["scope"], scope.hasSuffix("/.default") else {
            return error(.badRequest, "invalid_scope",
                         "AADSTS1002012: The provided value for scope is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier.")
        }
        var clientId = form["client_id"] ?? ""
        var secret = form["client_secret"] ?? ""
        // client_secret_basic is allowed too.
        if let header = request.headers.first(name: "Authorization"), header.lowercased().hasPrefix("basic "),
           let data = Data(base64Encoded: String(header.dropFirst(6))), let text = String(data: data, encoding: .utf8),
           let colon = text.firstIndex(of: ":") {
            clientId = SimRequest.decode(String(text[..<colon]))
            secret = SimRequest.decode(String(text[text.index(after: colon)...]))
        }
        guard let (token, expiresIn) = world.issueToken(tenant, clientId: clientId, clientSecret: secret) else {
            return error(.unauthorized, "invalid_client", "AADSTS7000215: Invalid client secret provided.")
        }
        let body: [String: Any] = ["token_type": "Bearer", "expires_in": expiresIn, "ext_expires_in": expiresIn,
                                   "access_token": token]
        return .json(.ok, Array((try? JSONSerialization.data(withJSONObject: body, options: [.withoutEscapingSlashes])) ?? Data()))
    }

    private func error(_ status: HTTPResponseStatusAlias, _ code: String, _ description: String) -> SimResponse {
        let body: [String: Any] = ["error": code, "error_description": description]
        return .json(status, Array((try? JSONSerialization.data(withJSONObject: body, options: [.withoutEscapingSlashes])) ?? Data()))
    }
}

import NIOHTTP1
typealias HTTPResponseStatusAlias = HTTPResponseStatus
