public import Logging
public import Metrics
import Foundation
import Synchronization

/// The HTTP transport every EWS call goes through: libcurl driven by one loop thread, called with
/// async/await.
///
/// - `send(_:)`: a normal call; the whole response comes back.
/// - `stream(_:)`: a streaming call (GetStreamingEvents); the head comes back, the body is an
///   async sequence of chunks.
///
/// All failures are `HTTPError`. Call `shutdown()` before dropping the client: it fails every call
/// in flight with `.shutdown` and joins the loop thread.
public final class HTTPClient: Sendable {
    public struct Configuration: Sendable {
        /// Idle keep-alive connections libcurl keeps in total (all identities).
        public var maxCachedConnections: Int = 4096
        /// The largest body a normal (non-streaming) response may have. EWS answers ewsfleet's
        /// calls in kilobytes to a few megabytes (a large SyncState); a server that sends more is
        /// broken or hostile, and the call fails with `.responseTooLarge` instead of filling memory.
        public var maxResponseBodyBytes: Int = 64 * 1024 * 1024
        /// Stream buffering: pause the transfer at `streamHighWaterBytes` or `streamMaxChunks`,
        /// resume when the consumer has drained to `streamLowWaterBytes`.
        public var streamHighWaterBytes: Int = 256 * 1024
        public var streamLowWaterBytes: Int = 64 * 1024
        public var streamMaxChunks: Int = 256
        /// OAuth2 tokens are renewed this long before they expire.
        public var tokenRefreshMargin: Duration = .seconds(300)
        public var metricsFactory: any MetricsFactory = MetricsSystem.factory
        /// Logs request and response header lines at `trace` level (libcurl's debug callback),
        /// with Authorization, Proxy-Authorization, Cookie and Set-Cookie values redacted.
        /// Bodies are never logged.
        public var traceHeaders = false
        /// The clock stream idle timeouts (`HTTPTimeouts.idleRead`) are measured on.
        public var idleClock: any Clock<Duration> = ContinuousClock()
        /// How the loop thread waits for sockets.
        public var loopMechanism: LoopMechanism = .epoll

        public enum LoopMechanism: Sendable, Hashable {
            /// `curl_multi_poll` + `curl_multi_wakeup`: portable; each wakeup costs O(transfers).
            case poll
            /// `curl_multi_socket_action` + epoll + eventfd (Linux; falls back to `poll`
            /// elsewhere): each wakeup costs O(ready sockets).
            case epoll
        }

        public init() {}
    }

    let configuration: Configuration
    let logger: Logger
    let loop: CurlLoop
    let metrics: HTTPMetrics
    private let tokenProviders = Mutex<[OAuth2TokenProvider.Key: OAuth2TokenProvider]>([:])
    private let tokenClock: @Sendable () -> Duration

    public convenience init(configuration: Configuration = Configuration(), logger: Logger = Logger(label: "ewsf.http")) {
        self.init(configuration: configuration, logger: logger, tokenClock: OAuth2TokenProvider.continuousNow())
    }

    init(configuration: Configuration, logger: Logger, tokenClock: @escaping @Sendable () -> Duration) {
        self.configuration = configuration
        self.logger = logger
        self.metrics = HTTPMetrics(factory: configuration.metricsFactory)
        self.loop = CurlLoop(
            logger: logger, metrics: metrics, maxCachedConnections: configuration.maxCachedConnections,
            useEpoll: configuration.loopMechanism == .epoll, idleTime: IdleTime.of(configuration.idleClock))
        self.tokenClock = tokenClock
    }

    deinit { loop.shutdownDetached() }

    /// Fails every call in flight with `.shutdown`, then waits for the loop thread to exit.
    public func shutdown() async { await loop.shutdown() }

    /// Checks stream idle timeouts now and returns once that is done (the loop also checks on its
    /// own, at least once a second): for an injected `idleClock` that was just advanced.
    public func recheckIdleStreams() async { await loop.recheckIdle() }

    // MARK: normal calls

    /// Sends a request and returns the whole response, whatever its status. For an `oauth2`
    /// identity a 401 triggers exactly one token refresh and one retry.
    public func send(_ request: HTTPRequest) async throws -> HTTPResponse {
        return try await withBearerRetry(request) { extra in
            let response = try await self.perform(request, extraHeaders: extra)
            return (response, response.status)
        }
    }

    /// Opens a streaming request. Returns once the response head has arrived; iterate the result
    /// for the body. How many calls of an identity run at once is bounded in one place, the fleet's
    /// `IdentityBudget`.
    public func stream(_ request: HTTPRequest) async throws -> HTTPStream {
        try await withBearerRetry(request) { extra in
            let stream = try await self.openStream(request, extraHeaders: extra)
            if stream.status == 401, request.identity.authKind == .oauth2 { stream.cancel() }
            return (stream, stream.status)
        }
    }

    // MARK: internals

    private func withBearerRetry<R>(
        _ request: HTTPRequest, _ attempt: ([String]) async throws -> (R, Int)
    ) async throws -> R {
        var extra: [String] = []
        if let cookie = request.cookies?.cookieHeader { extra.append("Cookie: \(cookie)") }
        guard case .oauth2(let credentials) = request.identity.credentials else {
            return try await attempt(extra).0
        }
        let provider = tokenProvider(for: credentials, endpoint: request.identity.tokenEndpointIdentity)
        let token = try await countingErrors { try await provider.currentToken() }
        let (first, status) = try await attempt(extra + ["Authorization: Bearer \(token.unredactedValue)"])
        guard status == 401 else { return first }
        logger.debug("EWS answered 401; refreshing the OAuth2 token once", metadata: ["tenant": "\(request.identity.tenant)"])
        let fresh = try await countingErrors { try await provider.token(replacing: token) }
        return try await attempt(extra + ["Authorization: Bearer \(fresh.unredactedValue)"]).0
    }

    private func countingErrors<T>(_ body: () async throws -> T) async throws -> T {
        do { return try await body() } catch let error as HTTPError {
            metrics.recordError(error.code)
            throw error
        }
    }

    func perform(_ request: HTTPRequest, extraHeaders: [String]) async throws -> HTTPResponse {
        let transfer = makeTransfer(.normal, request, extraHeaders)
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (c: CheckedContinuation<HTTPResponse, any Error>) in
                if transfer.register(c) { loop.submit(transfer) }
            }
        } onCancel: {
            transfer.cancel()
        }
    }

    private func openStream(_ request: HTTPRequest, extraHeaders: [String]) async throws -> HTTPStream {
        let transfer = makeTransfer(.stream, request, extraHeaders)
        let head = try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (c: CheckedContinuation<HTTPResponseHead, any Error>) in
                if transfer.register(c) { loop.submit(transfer) }
            }
        } onCancel: {
            transfer.cancel()
        }
        return HTTPStream(head: head, transfer: transfer)
    }

    private func makeTransfer(_ kind: Transfer.Kind, _ request: HTTPRequest, _ extra: [String]) -> Transfer {
        let limits = StreamBufferState.Limits(
            highWater: configuration.streamHighWaterBytes, lowWater: configuration.streamLowWaterBytes,
            maxChunks: configuration.streamMaxChunks)
        return Transfer(
            kind: kind, request: request, extraHeaders: extra, loop: loop, limits: limits,
            maxBodyBytes: configuration.maxResponseBodyBytes, metrics: metrics,
            trace: configuration.traceHeaders ? logger : nil)
    }

    func tokenProvider(for credentials: OAuth2ClientCredentials, endpoint: HTTPIdentity) -> OAuth2TokenProvider {
        let key = OAuth2TokenProvider.Key(credentials: credentials, endpoint: endpoint)
        return tokenProviders.withLock { map in
            if let p = map[key] { return p }
            let p = OAuth2TokenProvider(
                credentials: credentials, endpoint: endpoint, refreshMargin: configuration.tokenRefreshMargin, now: tokenClock
            ) { [weak self] request in
                guard let self else { throw HTTPError.shutdownError }
                return try await self.perform(request, extraHeaders: [])
            }
            map[key] = p
            return p
        }
    }
}
