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
