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
