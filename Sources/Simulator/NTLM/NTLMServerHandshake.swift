import Foundation

/// The server side of HTTP NTLM for ONE TCP connection, as IIS does it for on-premises Exchange.
///
/// NTLM authenticates the connection, not the request: after type 1 → 401 + type 2 → type 3 the
/// identity sticks to the connection, and later requests on it pass without Authorization. A plain
/// state machine: `receive` returns what to answer; the caller owns I/O and the credential lookup.
struct NTLMServerHandshake<Identity: Sendable>: Sendable {
    enum State: Sendable {
        case idle
        /// A type 2 went out for `scope` (the tenant); the next type 3 must answer it.
        case challenged(serverChallenge: [UInt8], scope: String)
        case authenticated(Identity, scope: String)
    }

    enum Action: Sendable {
        /// Serve the request as `Identity`.
        case pass(Identity)
        /// 401 with `WWW-Authenticate: NTLM <base64 type 2>`; keep the connection open.
        case challenge(String)
        /// 401 with a bare `WWW-Authenticate: NTLM`.
        case reject
    }

    /// Verifies a type 3 against the server challenge; nil means wrong user or password.
    typealias Verify = (NTLMAuthenticate, _ serverChallenge: [UInt8]) -> Identity?

    private(set) var state: State = .idle

    init() {}

    /// `scope` names what the identity is valid for (the tenant): a request for another scope on
    /// the same connection must authenticate again.
    mutating func receive(authorization: String?, scope: String, challenge makeChallenge: () -> NTLMChallenge,
                          verify: Verify) -> Action {
        guard let authorization else {
            if case .authenticated(let identity, let owner) = state, owner == scope { return .pass(identity) }
            return .reject
        }
        let parts = authorization.split(separator: " ", maxSplits: 1)
        // Basic, Bearer or Negotiate on an NTLM-only endpoint: refused, like IIS with only NTLM on.
        guard parts.count == 2, parts[0].lowercased() == "ntlm",
              let decoded = Data(base64Encoded: String(parts[1]).trimmingCharacters(in: .whitespaces)) else {
            return .reject
        }
        let bytes = [UInt8](decoded)
        if NTLMNegotiate.parse(bytes) != nil {
            // A new type 1 restarts the handshake, even on an authenticated connection.
            let challenge = makeChallenge()
            state = .challenged(serverChallenge: challenge.serverChallenge, scope: scope)
            return .challenge("NTLM " + Data(challenge.serialize()).base64EncodedString())
        }
        guard let message = NTLMAuthenticate.parse(bytes),
              case .challenged(let serverChallenge, let owner) = state, owner == scope else {
            state = .idle
            return .reject
        }
        guard let identity = verify(message, serverChallenge) else {
            state = .idle
            return .reject
        }
        state = .authenticated(identity, scope: scope)
        return .pass(identity)
    }
}
