/// Byte-level pieces shared by the three NTLM messages (MS-NLMP §2.2): the signature, the flag
/// bits, (length, max length, offset) payload fields and AV pairs.
enum NTLMWire {
    static let signature: [UInt8] = Array("NTLMSSP".utf8) + [0]

    struct Flags: OptionSet, Sendable, Hashable {
        let rawValue: UInt32
        static let unicode = Flags(rawValue: 0x0000_0001)
        static let oem = Flags(rawValue: 0x0000_0002)
        static let requestTarget = Flags(rawValue: 0x0000_0004)
        static let ntlm = Flags(rawValue: 0x0000_0200)
        static let domainSupplied = Flags(rawValue: 0x0000_1000)
        static let workstationSupplied = Flags(rawValue: 0x0000_2000)
        static let alwaysSign = Flags(rawValue: 0x0000_8000)
        static let targetTypeDomain = Flags(rawValue: 0x0001_0000)
        static let extendedSessionSecurity = Flags(rawValue: 0x0008_0000)
        static let targetInfo = Flags(rawValue: 0x0080_0000)
        static let version = Flags(rawValue: 0x0200_0000)
        static let key128 = Flags(rawValue: 0x2000_0000)
        static let keyExchange = Flags(rawValue: 0x4000_0000)
        static let key56 = Flags(rawValue: 0x8000_0000)
    }

    /// AV pair ids (MS-NLMP §2.2.2.1) the simulator writes or reads.
    enum AvId: UInt16 {
        case eol = 0, nbComputerName = 1, nbDomainName = 2, dnsComputerName = 3, dnsDomainName = 4
        case flags = 6, timestamp = 7
    }

    static func avPairs(_ pairs: [(AvId, [UInt8])]) -> [UInt8] {
        var out: [UInt8] = []
        for (id, value) in pairs where id != .eol {
            out += le16(id.rawValue) + le16(UInt16(value.count)) + value
        }
        return out + [0, 0, 0, 0]
    }

    /// Parses AV pairs up to MsvAvEOL; nil when malformed.
    static func parseAvPairs(_ bytes: [UInt8]) -> [(UInt16, [UInt8])]? {
        var pairs: [(UInt16, [UInt8])] = []
        var index = 0
        while index + 4 <= bytes.count {
            let id = u16(bytes, index), length = Int(u16(bytes, index + 2))
            guard index + 4 + length <= bytes.count else { return nil }
            if id == AvId.eol.rawValue { return pairs }
            pairs.append((id, Array(bytes[(index + 4)..<(index + 4 + length)])))
            index += 4 + length
        }
        return nil
    }

    static func le16(_ value: UInt16) -> [UInt8] { [UInt8(value & 0xff), UInt8(value >> 8)] }
    static func le32(_ value: UInt32) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: value >> (8 * UInt32($0))) } }
    static func le64(_ value: UInt64) -> [UInt8] { (0..<8).map { UInt8(truncatingIfNeeded: value >> (8 * UInt64($0))) } }

    static func u16(_ bytes: [UInt8], _ at: Int) -> UInt16 { UInt16(bytes[at]) | UInt16(bytes[at + 1]) << 8 }
    static func u32(_ bytes: [UInt8], _ at: Int) -> UInt32 {
        (0..<4).reduce(UInt32(0)) { $0 | UInt32(bytes[at + $1]) << (8 * UInt32($1)) }
    }

    /// Checks signature and message type.
    static func header(_ bytes: [UInt8], type: UInt32, minimumLength: Int) -> Bool {
        bytes.count >= minimumLength && Array(bytes[0..<8]) == signature && u32(bytes, 8) == type
    }

    /// Reads the payload a (length, max length, offset) field at `at` points to; nil when it
    /// points outside the message.
    static func field(_ bytes: [UInt8], at: Int) -> [UInt8]? {
        guard at + 8 <= bytes.count else { return nil }
        let length = Int(u16(bytes, at)), offset = Int(u32(bytes, at + 4))
        if length == 0 { return [] }
        guard offset >= 0, offset + length <= bytes.count else { return nil }
        return Array(bytes[offset..<(offset + length)])
    }

    /// Lays out a fixed header plus payloads: each payload's field (8 bytes) is patched into the
    /// header at its position, the payload appended after the header.
    static func assemble(header: [UInt8], payloads: [(fieldAt: Int, bytes: [UInt8])]) -> [UInt8] {
        var out = header
        for payload in payloads {
            let offset = UInt32(out.count), length = UInt16(payload.bytes.count)
            out.replaceSubrange(payload.fieldAt..<(payload.fieldAt + 8), with: le16(length) + le16(length) + le32(offset))
            out += payload.bytes
        }
        return out
    }

    /// Text in the message's charset: UTF-16LE when Unicode was negotiated, else OEM (ASCII here).
    static func text(_ bytes: [UInt8], unicode: Bool) -> String? {
        unicode ? NTLMCrypto.string(utf16LE: bytes[...]) : String(decoding: bytes, as: UTF8.self)
    }

    static func encode(_ text: String, unicode: Bool) -> [UInt8] {
        unicode ? NTLMCrypto.utf16LE(text) : Array(text.utf8)
    }
}
