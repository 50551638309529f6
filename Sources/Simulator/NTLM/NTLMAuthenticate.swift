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
