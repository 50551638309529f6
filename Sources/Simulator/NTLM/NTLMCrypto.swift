import Crypto

/// The NTLMv2 computations of MS-NLMP §3.3.2. HMAC-MD5 comes from swift-crypto
/// (`HMAC<Insecure.MD5>`); MD4 is ours (`MD4`).
enum NTLMCrypto {
    static func hmacMD5(key: [UInt8], _ data: [UInt8]) -> [UInt8] {
        Array(HMAC<Insecure.MD5>.authenticationCode(for: data, using: SymmetricKey(data: key)))
    }

    /// NTOWFv1: MD4 of the UTF-16LE password (the "NT hash").
    static func ntHash(password: String) -> [UInt8] { MD4.hash(utf16LE(password)) }

    /// NTOWFv2 = HMAC_MD5(NT hash, UNICODE(Uppercase(user) + domain)). The domain keeps its case.
    static func ntowfV2(password: String, user: String, domain: String) -> [UInt8] {
        hmacMD5(key: ntHash(password: password), utf16LE(user.uppercased() + domain))
    }

    /// The client blob ("temp") that follows NTProofStr in an NTLMv2 response: Responserversion 1,
    /// HiResponserversion 1, Z(6), time, client challenge, Z(4), target info, Z(4).
    static func blob(time: UInt64, clientChallenge: [UInt8], targetInfo: [UInt8]) -> [UInt8] {
        var out: [UInt8] = [1, 1, 0, 0, 0, 0, 0, 0]
        for shift in 0..<8 { out.append(UInt8(truncatingIfNeeded: time >> (8 * UInt64(shift)))) }
        out += clientChallenge
        out += [0, 0, 0, 0]
        out += targetInfo
        out += [0, 0, 0, 0]
        return out
    }

    struct V2Response: Equatable {
        /// NTProofStr followed by the blob: the NtChallengeResponse field of AUTHENTICATE.
        var ntResponse: [UInt8]
        var ntProofStr: [UInt8]
        /// LMv2: HMAC_MD5(NTOWFv2, server challenge + client challenge) + client challenge.
        var lmResponse: [UInt8]
        var sessionBaseKey: [UInt8]
    }

    static func v2Response(responseKey: [UInt8], serverChallenge: [UInt8], blob: [UInt8],
                           clientChallenge: [UInt8]) -> V2Response {
        let proof = hmacMD5(key: responseKey, serverChallenge + blob)
        let lm = hmacMD5(key: responseKey, serverChallenge + clientChallenge) + clientChallenge
        return V2Response(ntResponse: proof + blob, ntProofStr: proof, lmResponse: lm,
                          sessionBaseKey: hmacMD5(key: responseKey, proof))
    }

    /// Server side: recomputes NTProofStr over the blob the client sent, compared in constant time.
    static func verifyV2(ntResponse: [UInt8], responseKey: [UInt8], serverChallenge: [UInt8]) -> Bool {
        // NTProofStr (16) + the fixed part of the blob (28) at least; 24 bytes would be NTLMv1.
        guard ntResponse.count >= 16 + 28, ntResponse[16] == 1, ntResponse[17] == 1 else { return false }
        let expected = hmacMD5(key: responseKey, serverChallenge + Array(ntResponse[16...]))
        var difference: UInt8 = 0
        for index in 0..<16 { difference |= expected[index] ^ ntResponse[index] }
        return difference == 0
    }

    static func utf16LE(_ text: String) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(text.utf16.count * 2)
        for unit in text.utf16 { out.append(UInt8(unit & 0xff)); out.append(UInt8(unit >> 8)) }
        return out
    }

    static func string(utf16LE bytes: ArraySlice<UInt8>) -> String? {
        guard bytes.count % 2 == 0 else { return nil }
        var units: [UInt16] = []
        var index = bytes.startIndex
        while index < bytes.endIndex {
            units.append(UInt16(bytes[index]) | UInt16(bytes[index + 1]) << 8)
            index += 2
        }
        return String(decoding: units, as: UTF16.self)
    }

    /// FILETIME (100 ns ticks since 1601-01-01 UTC) of a Unix time in seconds.
    static func fileTime(unixSeconds: Double) -> UInt64 {
        UInt64((unixSeconds + 11_644_473_600) * 10_000_000)
    }
}
