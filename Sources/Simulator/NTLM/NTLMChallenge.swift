/// CHALLENGE (type 2, MS-NLMP §2.2.1.2).
struct NTLMChallenge: Equatable {
    var flags: NTLMWire.Flags
    var serverChallenge: [UInt8]
    var targetName: String
    /// Serialized AV pairs, ending with MsvAvEOL.
    var targetInfo: [UInt8]

    static func parse(_ bytes: [UInt8]) -> NTLMChallenge? {
        guard NTLMWire.header(bytes, type: 2, minimumLength: 48) else { return nil }
        let flags = NTLMWire.Flags(rawValue: NTLMWire.u32(bytes, 20))
        guard let name = NTLMWire.field(bytes, at: 12), let info = NTLMWire.field(bytes, at: 40),
              let targetName = NTLMWire.text(name, unicode: flags.contains(.unicode)) else { return nil }
        return NTLMChallenge(flags: flags, serverChallenge: Array(bytes[24..<32]), targetName: targetName, targetInfo: info)
    }

    func serialize() -> [UInt8] {
        // Version 10.0 build 17763, NTLM revision 15: what a current Windows server sends.
        let version: [UInt8] = [10, 0] + NTLMWire.le16(17763) + [0, 0, 0, 15]
        var header = NTLMWire.signature + NTLMWire.le32(2) + [UInt8](repeating: 0, count: 8)
        header += NTLMWire.le32(flags.rawValue) + serverChallenge + [UInt8](repeating: 0, count: 16) + version
        return NTLMWire.assemble(header: header, payloads: [
            (12, NTLMWire.encode(targetName, unicode: flags.contains(.unicode))), (40, targetInfo),
        ])
    }
}
