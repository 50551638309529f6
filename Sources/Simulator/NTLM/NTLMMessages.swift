/// NEGOTIATE (type 1, MS-NLMP §2.2.1.1).
struct NTLMNegotiate: Equatable {
    var flags: NTLMWire.Flags
    var domain: String = ""
    var workstation: String = ""

    static func parse(_ bytes: [UInt8]) -> NTLMNegotiate? {
        guard NTLMWire.header(bytes, type: 1, minimumLength: 16) else { return nil }
        let flags = NTLMWire.Flags(rawValue: NTLMWire.u32(bytes, 12))
        // Old clients send the short 16-byte form without the domain and workstation fields.
        guard bytes.count >= 32 else { return NTLMNegotiate(flags: flags) }
        guard let domain = NTLMWire.field(bytes, at: 16), let workstation = NTLMWire.field(bytes, at: 24) else {
            return nil
        }
        // Type 1 names are always OEM.
        return NTLMNegotiate(flags: flags, domain: String(decoding: domain, as: UTF8.self),
                             workstation: String(decoding: workstation, as: UTF8.self))
    }

    func serialize() -> [UInt8] {
        var flags = self.flags
        if !domain.isEmpty { flags.insert(.domainSupplied) }
        if !workstation.isEmpty { flags.insert(.workstationSupplied) }
        let header = NTLMWire.signature + NTLMWire.le32(1) + NTLMWire.le32(flags.rawValue) + [UInt8](repeating: 0, count: 16)
        return NTLMWire.assemble(header: header, payloads: [(16, Array(domain.utf8)), (24, Array(workstation.utf8))])
    }
}

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

/// AUTHENTICATE (type 3, MS-NLMP §2.2.1.3).
struct NTLMAuthenticate: Equatable {
    var flags: NTLMWire.Flags
    var lmResponse: [UInt8]
    var ntResponse: [UInt8]
    var domain: String
    var user: String
    var workstation: String
    var encryptedSessionKey: [UInt8] = []

    static func parse(_ bytes: [UInt8]) -> NTLMAuthenticate? {
        guard NTLMWire.header(bytes, type: 3, minimumLength: 64) else { return nil }
        let flags = NTLMWire.Flags(rawValue: NTLMWire.u32(bytes, 60))
        let unicode = flags.contains(.unicode)
        guard let lm = NTLMWire.field(bytes, at: 12), let nt = NTLMWire.field(bytes, at: 20),
              let domainBytes = NTLMWire.field(bytes, at: 28), let userBytes = NTLMWire.field(bytes, at: 36),
              let workstationBytes = NTLMWire.field(bytes, at: 44), let key = NTLMWire.field(bytes, at: 52),
              let domain = NTLMWire.text(domainBytes, unicode: unicode), let user = NTLMWire.text(userBytes, unicode: unicode),
              let workstation = NTLMWire.text(workstationBytes, unicode: unicode) else { return nil }
        return NTLMAuthenticate(flags: flags, lmResponse: lm, ntResponse: nt, domain: domain, user: user,
                                workstation: workstation, encryptedSessionKey: key)
    }

    func serialize() -> [UInt8] {
        let unicode = flags.contains(.unicode)
        let header = NTLMWire.signature + NTLMWire.le32(3) + [UInt8](repeating: 0, count: 48) + NTLMWire.le32(flags.rawValue)
        return NTLMWire.assemble(header: header, payloads: [
            (12, lmResponse), (20, ntResponse), (28, NTLMWire.encode(domain, unicode: unicode)),
            (36, NTLMWire.encode(user, unicode: unicode)), (44, NTLMWire.encode(workstation, unicode: unicode)),
            (52, encryptedSessionKey),
        ])
    }
}
