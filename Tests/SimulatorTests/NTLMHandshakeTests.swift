import Foundation
import Testing
@testable import Simulator

/// The connection-level NTLM state machine, driven with our own client-side messages.
@Suite struct NTLMHandshakeTests {
    typealias Handshake = NTLMServerHandshake<String>

    static let serverChallenge: [UInt8] = [1, 2, 3, 4, 5, 6, 7, 8]

    static func header(_ bytes: [UInt8]) -> String { "NTLM " + Data(bytes).base64EncodedString() }
    static func type1() -> String { header(NTLMNegotiate(flags: [.unicode, .ntlm]).serialize()) }

    static func makeChallenge() -> NTLMChallenge {
        NTLMChallenge.server(domain: "T0", computer: "EXCH01", dnsDomain: "t0.example", fileTime: 1,
                             serverChallenge: serverChallenge)
    }

    /// Accepts user "svc" with password "secret".
    static func verify(_ message: NTLMAuthenticate, _ challenge: [UInt8]) -> String? {
        message.user == "svc" && message.verifiesV2(password: "secret", serverChallenge: challenge) ? "svc" : nil
    }

    static func type3(from action: Handshake.Action, password: String) throws -> String {
        guard case .challenge(let value) = action else { throw Failure(reason: "expected a challenge, got \(action)") }
        let bytes = try #require(Data(base64Encoded: String(value.dropFirst("NTLM ".count))))
        let challenge = try #require(NTLMChallenge.parse([UInt8](bytes)))
        return header(NTLMAuthenticate.client(user: "svc", domain: "T0", password: password, challenge: challenge,
                                              time: 3, clientChallenge: [9, 9, 9, 9, 9, 9, 9, 9]).serialize())
    }

    struct Failure: Error { var reason: String }

    func receive(_ handshake: inout Handshake, _ authorization: String?, scope: String = "t0") -> Handshake.Action {
        handshake.receive(authorization: authorization, scope: scope, challenge: Self.makeChallenge, verify: Self.verify)
    }

    @Test func fullHandshakeThenConnectionStaysAuthenticated() throws {
        var handshake = Handshake()
        guard case .reject = receive(&handshake, nil) else { Issue.record("anonymous must be refused"); return }
        let challenge = receive(&handshake, Self.type1())
        let type3 = try Self.type3(from: challenge, password: "secret")
        guard case .pass(let who) = receive(&handshake, type3) else { Issue.record("type 3 refused"); return }
        #expect(who == "svc")
        // Later requests on the same connection carry no Authorization.
        guard case .pass = receive(&handshake, nil) else { Issue.record("authenticated connection refused"); return }
        // ...but only for the tenant it authenticated against.
        guard case .reject = receive(&handshake, nil, scope: "t1") else { Issue.record("other tenant passed"); return }
    }

    @Test func wrongPasswordIsRefusedAndResets() throws {
        var handshake = Handshake()
        let type3 = try Self.type3(from: receive(&handshake, Self.type1()), password: "wrong")
        guard case .reject = receive(&handshake, type3) else { Issue.record("wrong password accepted"); return }
        guard case .reject = receive(&handshake, nil) else { Issue.record("connection authenticated"); return }
        // Replaying a type 3 without a fresh challenge fails too.
        let good = try Self.type3(from: receive(&handshake, Self.type1()), password: "secret")
        guard case .pass = receive(&handshake, good) else { Issue.record("good type 3 refused"); return }
        var fresh = Handshake()
        guard case .reject = receive(&fresh, good) else { Issue.record("type 3 without challenge accepted"); return }
    }

    @Test func otherSchemesAndGarbageAreRefused() {
        var handshake = Handshake()
        for value in ["Basic c3ZjOnNlY3JldA==", "Bearer abc", "NTLM !!!", "NTLM", "Negotiate " + Self.type1().dropFirst(5)] {
            guard case .reject = receive(&handshake, value) else { Issue.record("\(value) not refused"); return }
        }
    }

    @Test func typeTwoCarriesServerChallengeAndTimestamp() throws {
        var handshake = Handshake()
        guard case .challenge(let value) = receive(&handshake, Self.type1()) else { Issue.record("no challenge"); return }
        #expect(value.hasPrefix("NTLM "))
        let bytes = try #require(Data(base64Encoded: String(value.dropFirst(5))))
        let challenge = try #require(NTLMChallenge.parse([UInt8](bytes)))
        #expect(challenge.serverChallenge == Self.serverChallenge)
        #expect(challenge.flags.contains([.targetInfo, .unicode, .ntlm]))
        let pairs = try #require(NTLMWire.parseAvPairs(challenge.targetInfo))
        #expect(pairs.contains { $0.0 == NTLMWire.AvId.timestamp.rawValue })
    }

    @Test func serverChallengesAreRandom() {
        let a = NTLMChallenge.server(domain: "D", computer: "C", dnsDomain: "d", fileTime: 0)
        let b = NTLMChallenge.server(domain: "D", computer: "C", dnsDomain: "d", fileTime: 0)
        #expect(a.serverChallenge != b.serverChallenge)
        #expect(a.serverChallenge.count == 8)
    }
}
