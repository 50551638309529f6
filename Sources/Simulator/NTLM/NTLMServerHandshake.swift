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

extension NTLMChallenge {
    /// A type 2 as a Windows server builds it: a random server challenge and target info with the
    /// NetBIOS and DNS names plus the current time (MsvAvTimestamp), which makes clients answer
    /// with NTLMv2.
    static func server(domain: String, computer: String, dnsDomain: String, fileTime: UInt64,
                       serverChallenge: [UInt8]? = nil) -> NTLMChallenge {
        var random = SystemRandomNumberGenerator()
        let challenge = serverChallenge ?? (0..<8).map { _ in UInt8.random(in: 0...255, using: &random) }
        let info = NTLMWire.avPairs([
            (.nbDomainName, NTLMCrypto.utf16LE(domain)), (.nbComputerName, NTLMCrypto.utf16LE(computer)),
            (.dnsDomainName, NTLMCrypto.utf16LE(dnsDomain)),
            (.dnsComputerName, NTLMCrypto.utf16LE(computer.lowercased() + "." + dnsDomain)),
            (.timestamp, NTLMWire.le64(fileTime)),
        ])
        let flags: NTLMWire.Flags = [.unicode, .requestTarget, .ntlm, .alwaysSign, .targetTypeDomain,
                                     .extendedSessionSecurity, .targetInfo, .version, .key128, .key56]
        return NTLMChallenge(flags: flags, serverChallenge: challenge, targetName: domain, targetInfo: info)
    }
}

extension NTLMAuthenticate {
    /// Checks an NTLMv2 response for `password`. NTLMv1 and LM responses are refused, as a server
    /// with LmCompatibilityLevel 5 does.
    func verifiesV2(password: String, serverChallenge: [UInt8]) -> Bool {
        let key = NTLMCrypto.ntowfV2(password: password, user: user, domain: domain)
        return NTLMCrypto.verifyV2(ntResponse: ntResponse, responseKey: key, serverChallenge: serverChallenge)
    }

    /// Client side (tests): a type 3 answering `challenge` with NTLMv2.
    static func client(user: String, domain: String, password: String, workstation: String = "WORKSTATION",
                       challenge: NTLMChallenge, time: UInt64, clientChallenge: [UInt8]) -> NTLMAuthenticate {
        let key = NTLMCrypto.ntowfV2(password: password, user: user, domain: domain)
        let blob = NTLMCrypto.blob(time: time, clientChallenge: clientChallenge, targetInfo: challenge.targetInfo)
        let response = NTLMCrypto.v2Response(responseKey: key, serverChallenge: challenge.serverChallenge, blob: blob,
                                             clientChallenge: clientChallenge)
        return NTLMAuthenticate(flags: [.unicode, .ntlm, .extendedSessionSecurity, .targetInfo],
                                lmResponse: response.lmResponse, ntResponse: response.ntResponse, domain: domain,
                                user: user, workstation: workstation)
    }
}
