/// MD4 (RFC 1320). NTLM's NT hash is MD4 over the UTF-16LE password, and neither swift-crypto nor
/// any other installed library ships MD4 (it is broken, so libraries dropped it). Only for NTLM.
enum MD4 {
    static func hash(_ message: [UInt8]) -> [UInt8] {
        var state: [UInt32] = [0x6745_2301, 0xefcd_ab89, 0x98ba_dcfe, 0x1032_5476]
        var padded = message
        let bitLength = UInt64(message.count) &* 8
        padded.append(0x80)
        while padded.count % 64 != 56 { padded.append(0) }
        for shift in 0..<8 { padded.append(UInt8(truncatingIfNeeded: bitLength >> (8 * UInt64(shift)))) }

        var words = [UInt32](repeating: 0, count: 16)
        for block in stride(from: 0, to: padded.count, by: 64) {
            for index in 0..<16 {
                let base = block + 4 * index
                words[index] = UInt32(padded[base]) | UInt32(padded[base + 1]) << 8
                    | UInt32(padded[base + 2]) << 16 | UInt32(padded[base + 3]) << 24
            }
            var s = state
            round(&s, words, order: Array(0..<16), shifts: [3, 7, 11, 19], constant: 0) { x, y, z in (x & y) | (~x & z) }
            round(&s, words, order: [0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15], shifts: [3, 5, 9, 13],
                  constant: 0x5a82_7999) { x, y, z in (x & y) | (x & z) | (y & z) }
            round(&s, words, order: [0, 8, 4, 12, 2, 10, 6, 14, 1, 9, 5, 13, 3, 11, 7, 15], shifts: [3, 9, 11, 15],
                  constant: 0x6ed9_eba1) { x, y, z in x ^ y ^ z }
            for index in 0..<4 { state[index] = state[index] &+ s[index] }
        }
        var digest: [UInt8] = []
        digest.reserveCapacity(16)
        for word in state {
            for shift in 0..<4 { digest.append(UInt8(truncatingIfNeeded: word >> (8 * UInt32(shift)))) }
        }
        return digest
    }

    /// One round of 16 steps. The step targets rotate a, d, c, b (RFC 1320 §3.4): step i updates
    /// register (4 - i % 4) % 4 from the three that follow it.
    private static func round(_ s: inout [UInt32], _ words: [UInt32], order: [Int], shifts: [UInt32], constant: UInt32,
                              _ mix: (UInt32, UInt32, UInt32) -> UInt32) {
        for step in 0..<16 {
            let t = (4 - step % 4) % 4
            let value = s[t] &+ mix(s[(t + 1) % 4], s[(t + 2) % 4], s[(t + 3) % 4]) &+ words[order[step]] &+ constant
            let shift = shifts[step % 4]
            s[t] = (value << shift) | (value >> (32 - shift))
        }
    }
}
