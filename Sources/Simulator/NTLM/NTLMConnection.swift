import NIOConcurrencyHelpers

/// The NTLM state of one HTTP connection (one per `SimHTTPHandler`, i.e. per NIO channel). The
/// router runs requests on the thread pool, so the state sits behind a lock; requests of one
/// connection arrive one after another, so the lock is never contended.
final class NTLMConnection: Sendable {
    private let handshake = NIOLockedValueBox(NTLMServerHandshake<SimIdentity>())

    func receive(authorization: String?, scope: String, challenge: () -> NTLMChallenge,
                 verify: NTLMServerHandshake<SimIdentity>.Verify) -> NTLMServerHandshake<SimIdentity>.Action {
        handshake.withLockedValue { $0.receive(authorization: authorization, scope: scope, challenge: challenge, verify: verify) }
    }
}
