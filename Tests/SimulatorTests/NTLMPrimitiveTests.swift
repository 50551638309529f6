import Foundation
import Testing
@testable import Simulator

/// MD4, HMAC-MD5 and NTLMv2 against published test vectors (RFC 1320, RFC 2202, MS-NLMP §4.2.4).
@Suite struct NTLMPrimitiveTests {
    static func hex(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02x", $0) }.joined() }
    static func bytes(_ hex: String) -> [UInt8] {
        var out: [UInt8] = []
        var index = hex.startIndex
        while index < hex.endIndex {
            let next = hex.index(index, offsetBy: 2)
            out.append(UInt8(hex[index..<next], radix: 16)!)
            index = next
        }
        return out
    }

    /// RFC 1320 appendix A.5.
    @Test(arguments: [
        ("", "31d6cfe0d16ae931b73c59d7e0c089c0"),
        ("a", "bde52cb31de33e46245e05fbdbd6fb24"),
        ("abc", "a448017aaf21d8525fc10ae87aa6729d"),
        ("message digest", "d9130a8164549fe818874806e1c7014b"),
        ("abcdefghijklmnopqrstuvwxyz", "d79e1c308aa5bbcdeea8ed63df412da9"),
        ("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", "043f8582f241db351ce627e153e7f0e4"),
        ("12345678901234567890123456789012345678901234567890123456789012345678901234567890",
         "e33b4ddc9c38f2199c3e7b164fcc0536"),
    ])
    func md4MatchesRFC1320(input: String, digest: String) {
        #expect(Self.hex(MD4.hash(Array(input.utf8))) == digest)
    }

    /// Lengths around the 55/56/64-byte padding boundaries must not crash or collide.
    @Test func md4PaddingBoundaries() {
        let digests = [55, 56, 63, 64, 65, 119, 120].map { MD4.hash([UInt8](repeating: 0x61, count: $0)) }
        #expect(Set(digests.map(Self.hex)).count == digests.count)
        #expect(digests.allSatisfy { $0.count == 16 })
    }

    /// RFC 2202 §2 (all seven HMAC-MD5 cases).
    @Test(arguments: [
        ([UInt8](repeating: 0x0b, count: 16), Array("Hi There".utf8), "9294727a3638bb1c13f48ef8158bfc9d"),
        (Array("Jefe".utf8), Array("what do ya want for nothing?".utf8), "750c783e6ab0b503eaa86e310a5db738"),
        ([UInt8](repeating: 0xaa, count: 16), [UInt8](repeating: 0xdd, count: 50), "56be34521d144c88dbb8c733f0e8b3f6"),
        (Array(1...25), [UInt8](repeating: 0xcd, count: 50), "697eaf0aca3a3aea3a75164746ffaa79"),
        ([UInt8](repeating: 0x0c, count: 16), Array("Test With Truncation".utf8), "56461ef2342edc00f9bab995690efd4c"),
        ([UInt8](repeating: 0xaa, count: 80), Array("Test Using Larger Than Block-Size Key - Hash Key First".utf8),
         "6b1ab7fe4bd7bf8f0b62e6ce61b9d0cd"),
        ([UInt8](repeating: 0xaa, count: 80),
         Array("Test Using Larger Than Block-Size Key and Larger Than One Block-Size Data".utf8),
         "6f630fad67cda0ee1fb1f562db3aa53e"),
    ] as [([UInt8], [UInt8], String)])
    func hmacMD5MatchesRFC2202(key: [UInt8], data: [UInt8], digest: String) {
        #expect(Self.hex(NTLMCrypto.hmacMD5(key: key, data)) == digest)
    }

    // MS-NLMP §4.2.1 inputs and §4.2.4 outputs.
    static let serverChallenge = bytes("0123456789abcdef")
    static let clientChallenge = bytes("aaaaaaaaaaaaaaaa")
    /// §4.2.4.3 target info: MsvAvNbDomainName "Domain", MsvAvNbComputerName "Server", MsvAvEOL.
    static let targetInfo = bytes("02000c0044006f006d00610069006e0001000c0053006500720076006500720000000000")

    @Test func ntHashAndNTOWFv2MatchMSNLMP() {
        #expect(Self.hex(NTLMCrypto.ntHash(password: "Password")) == "a4f49c406510bdcab6824ee7c30fd852")
        #expect(Self.hex(NTLMCrypto.ntowfV2(password: "Password", user: "User", domain: "Domain"))
            == "0c868a403bfd7a93a3001ef22ef02e3f")
        // The user name is upper-cased, the domain is not.
        #expect(NTLMCrypto.ntowfV2(password: "Password", user: "user", domain: "Domain")
            == NTLMCrypto.ntowfV2(password: "Password", user: "User", domain: "Domain"))
        #expect(NTLMCrypto.ntowfV2(password: "Password", user: "User", domain: "DOMAIN")
            != NTLMCrypto.ntowfV2(password: "Password", user: "User", domain: "Domain"))
    }

    @Test func ntlmV2ResponseMatchesMSNLMP() {
        #expect(Self.hex(NTLMWire.avPairs([(.nbDomainName, NTLMCrypto.utf16LE("Domain")),
                                           (.nbComputerName, NTLMCrypto.utf16LE("Server"))])) == Self.hex(Self.targetInfo))
        let key = NTLMCrypto.ntowfV2(password: "Password", user: "User", domain: "Domain")
        let blob = NTLMCrypto.blob(time: 0, clientChallenge: Self.clientChallenge, targetInfo: Self.targetInfo)
        let response = NTLMCrypto.v2Response(responseKey: key, serverChallenge: Self.serverChallenge, blob: blob,
                                             clientChallenge: Self.clientChallenge)
        #expect(Self.hex(response.ntProofStr) == "68cd0ab851e51c96aabc927bebef6a1c")
        #expect(Self.hex(response.sessionBaseKey) == "8de40ccadbc14a82f15cb0ad0de95ca3")
        #expect(Self.hex(response.lmResponse) == "86c35097ac9cec102554764a57cccc19aaaaaaaaaaaaaaaa")
        #expect(Self.hex(response.ntResponse) == "68cd0ab851e51c96aabc927bebef6a1c"
            + "01010000000000000000000000000000aaaaaaaaaaaaaaaa00000000"
            + "02000c0044006f006d00610069006e0001000c0053006500720076006500720000000000" + "00000000")
        #expect(NTLMCrypto.verifyV2(ntResponse: response.ntResponse, responseKey: key, serverChallenge: Self.serverChallenge))
        var tampered = response.ntResponse
        tampered[30] ^= 1
        #expect(!NTLMCrypto.verifyV2(ntResponse: tampered, responseKey: key, serverChallenge: Self.serverChallenge))
        // A 24-byte NTLMv1 response is never accepted.
        #expect(!NTLMCrypto.verifyV2(ntResponse: Array(response.ntResponse.prefix(24)), responseKey: key,
                                     serverChallenge: Self.serverChallenge))
    }

    @Test func messagesRoundTrip() throws {
        let negotiate = NTLMNegotiate(flags: [.unicode, .ntlm, .requestTarget], domain: "DOM", workstation: "WS")
        let parsedNegotiate = try #require(NTLMNegotiate.parse(negotiate.serialize()))
        #expect(parsedNegotiate.domain == "DOM" && parsedNegotiate.workstation == "WS")
        #expect(parsedNegotiate.flags.contains([.unicode, .ntlm, .domainSupplied, .workstationSupplied]))
        // The 16-byte short form old clients send.
        #expect(NTLMNegotiate.parse(Array(negotiate.serialize().prefix(16))) != nil)

        let challenge = NTLMChallenge.server(domain: "T0", computer: "EXCH01", dnsDomain: "t0.example", fileTime: 42,
                                             serverChallenge: Self.serverChallenge)
        let parsedChallenge = try #require(NTLMChallenge.parse(challenge.serialize()))
        #expect(parsedChallenge == challenge)
        let pairs = try #require(NTLMWire.parseAvPairs(parsedChallenge.targetInfo))
        #expect(pairs.contains { $0.0 == NTLMWire.AvId.timestamp.rawValue && $0.1 == NTLMWire.le64(42) })

        let authenticate = NTLMAuthenticate.client(user: "svc@t0.example", domain: "", password: "pw", challenge: challenge,
                                                   time: 7, clientChallenge: Self.clientChallenge)
        let parsed = try #require(NTLMAuthenticate.parse(authenticate.serialize()))
        #expect(parsed == authenticate)
        #expect(parsed.verifiesV2(password: "pw", serverChallenge: Self.serverChallenge))
        #expect(!parsed.verifiesV2(password: "pw2", serverChallenge: Self.serverChallenge))
        #expect(!parsed.verifiesV2(password: "pw", serverChallenge: Self.clientChallenge))
    }

    @Test func malformedMessagesAreRejected() {
        #expect(NTLMNegotiate.parse(Array("NTLMSSP".utf8)) == nil)
        #expect(NTLMChallenge.parse([UInt8](repeating: 0, count: 64)) == nil)
        var authenticate = NTLMAuthenticate.client(user: "u", domain: "d", password: "p",
                                                   challenge: NTLMChallenge.server(domain: "D", computer: "C", dnsDomain: "d",
                                                                                   fileTime: 0),
                                                   time: 0, clientChallenge: Self.clientChallenge).serialize()
        // NtChallengeResponse offset beyond the end.
        authenticate.replaceSubrange(24..<28, with: NTLMWire.le32(10_000))
        #expect(NTLMAuthenticate.parse(authenticate) == nil)
        #expect(NTLMWire.parseAvPairs([2, 0, 50, 0, 1]) == nil)
    }
}
