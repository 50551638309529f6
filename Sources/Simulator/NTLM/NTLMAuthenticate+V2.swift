extension NTLMAuthenticate {
    /// Checks an NTLMv2 response for `password`. NTLMv1 and LM responses are refused, as a server
    /// with LmCompatibilityLevel 5 does.
    func verifiesV2(password: String, serverChallenge: [UInt8]) -> Bool {
        let key = NTLMCrypto.ntowfV2(password: password, user: user, domain: domain)
        return NTLMCrypto.verifyV2(ntResponse: ntResponse, responseKey: key, serverChallenge: serverChallenge)
    }

    /// Client side (tests): a type 3 answering `challenge` with NTLMv2.
    static func client(user: String, domain: String, password: String, workstation: String = "WORKSTATION",
                       challenge: NTLMChallenge, time: UInt64, clientChallenge: [UInt8]) -> NTLMAuthenticate {
        let key = NTLMCrypto.ntowfV2(password: password, user: user, domain: domain)
        let blob = NTLMCrypto.blob(time: time, clientChallenge: clientChallenge, targetInfo: challenge.targetInfo)
        let response = NTLMCrypto.v2Response(responseKey: key, serverChallenge: challenge.serverChallenge, blob: blob,
                                             clientChallenge: clientChallenge)
        return NTLMAuthenticate(flags: [.unicode, .ntlm, .extendedSessionSecurity, .targetInfo],
                                lmResponse: response.lmResponse, ntResponse: response.ntResponse, domain: domain,
                                user: user, workstation: workstation)
    }
}
