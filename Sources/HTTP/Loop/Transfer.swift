import Foundation
import Synchronization
import CCurl
import Logging

/// One request in flight: the caller's continuation, plus the libcurl-side state that only the
/// loop thread touches.
///
/// `@unchecked Sendable`: the `// loop thread only` fields are read and written solely by the
/// `CurlLoop` thread (inside libcurl callbacks or command handling); everything shared with
/// callers' tasks lives in the `shared` Mutex or in the thread-safe `StreamBuffer`.
final class Transfer: @unchecked Sendable {
    enum Kind { case normal, stream }

    private enum Slot {
        case empty
        case normal(CheckedContinuation<HTTPResponse, any Error>)
        case head(CheckedContinuation<HTTPResponseHead, any Error>)
        /// The head was delivered; the body flows through `streamBuffer`.
        case streaming
        case finished
    }

    private struct Shared {
        var slot = Slot.empty
        var cancelled = false
    }

    let kind: Kind
    let request: HTTPRequest
    /// Extra headers computed by the client (bearer token, cookies).
    let extraHeaders: [String]
    private(set) var streamBuffer: StreamBuffer?
    private let shared = Mutex(Shared())
    private weak var loop: CurlLoop?
    let metrics: HTTPMetrics
    /// The loop's idle clock, for `lastActivity`.
    let idleTime: IdleTime

    // MARK: loop thread only
    var easy: UnsafeMutableRawPointer?
    var headerList: UnsafeMutablePointer<curl_slist>?
    let errorBuffer = UnsafeMutablePointer<CChar>.allocate(capacity: 256)
    var status = 0
    var headers: [(name: String, value: String)] = []
    var headDelivered = false
    var body = Data()
    /// Normal transfers only: the body limit, and whether a response went past it.
    let maxBodyBytes: Int
    var bodyTooLarge = false
    var bytesReceived = 0
    var paused = false
    var lastActivity: UInt64 = 0
    var startedAt: UInt64 = 0

    /// Set when header tracing is on; see `Transfer+Trace.swift`.
    let trace: Logger?

    init(
        kind: Kind, request: HTTPRequest, extraHeaders: [String], loop: CurlLoop, limits: StreamBufferState.Limits,
        maxBodyBytes: Int = .max, metrics: HTTPMetrics, trace: Logger? = nil
    ) {
        self.kind = kind
        self.maxBodyBytes = maxBodyBytes
        self.trace = trace
        self.request = request
        self.extraHeaders = extraHeaders
        self.loop = loop
        self.idleTime = loop.idleTime
        self.metrics = metrics
        errorBuffer.initialize(repeating: 0, count: 256)
        if kind == .stream {
            streamBuffer = StreamBuffer(limits: limits) { [weak self] in
                guard let self else { return }
                self.loop?.resume(self)
            }
        }
    }

    deinit { errorBuffer.deallocate() }

    var isCancelled: Bool { shared.withLock { $0.cancelled } }

    // MARK: caller side

    func register(_ c: CheckedContinuation<HTTPResponse, any Error>) -> Bool { install(.normal(c)) }

    func register(_ c: CheckedContinuation<HTTPResponseHead, any Error>) -> Bool { install(.head(c)) }

    /// Installs the caller's continuation; fails it at once (through `fail`, so it is resumed
    /// exactly once) if the call was already cancelled.
    private func install(_ waiter: Slot) -> Bool {
        let cancelled = shared.withLock { s -> Bool in
            s.slot = waiter
            return s.cancelled
        }
        if cancelled { fail(HTTPError.cancelledCall) }
        return !cancelled
    }

    /// Any thread. Fails the caller at once and asks the loop to remove the transfer.
    func cancel() {
        let first = shared.withLock { s -> Bool in
            defer { s.cancelled = true }
            return !s.cancelled
        }
        guard first else { return }
        fail(HTTPError.cancelledCall, discardBuffered: true)
        loop?.cancel(self)
    }

    // MARK: completion (exactly once)

    func deliverHead(_ head: HTTPResponseHead) {
        take(then: .streaming) { if case .head(let c) = $0 { c } else { nil } }?.resume(returning: head)
    }

    func complete(_ response: HTTPResponse) {
        take(then: .finished) { if case .normal(let c) = $0 { c } else { nil } }?.resume(returning: response)
    }

    /// Ends a stream body cleanly.
    func finishBody() {
        let streaming = take(then: .finished) { if case .streaming = $0 { true } else { nil } }
        if streaming != nil { streamBuffer?.finish(error: nil) }
    }

    /// What `match` finds in the slot, which then becomes `next`; nil (and the slot unchanged)
    /// when it holds something else: so each waiter is taken, and resumed, once.
    private func take<Waiter>(then next: Slot, _ match: (Slot) -> Waiter?) -> Waiter? {
        shared.withLock { s in
            guard let waiter = match(s.slot) else { return nil }
            s.slot = next
            return waiter
        }
    }

    /// Fails whichever side is still waiting. Buffered body chunks are still delivered before the
    /// error unless `discardBuffered`.
    func fail(_ error: HTTPError, discardBuffered: Bool = false) {
        enum Target {
            case normal(CheckedContinuation<HTTPResponse, any Error>)
            case head(CheckedContinuation<HTTPResponseHead, any Error>)
            case body
            case none
        }
        let target = shared.withLock { s -> Target in
            let t: Target
            switch s.slot {
            case .normal(let c): t = .normal(c)
            case .head(let c): t = .head(c)
            case .streaming: t = .body
            case .empty, .finished: t = .none
            }
            if case .none = t {} else { s.slot = .finished }
            return t
        }
        switch target {
        case .normal(let c): c.resume(throwing: error)
        case .head(let c): c.resume(throwing: error)
        case .body: streamBuffer?.finish(error: error, discardBuffered: discardBuffered)
        case .none:
            // A cancelled stream whose head was never registered still holds no waiter;
            // make sure a later iteration sees the end.
            if discardBuffered { streamBuffer?.finish(error: error, discardBuffered: true) }
            return
        }
        if error.code != .cancelled { metrics.recordError(error.code) }
    }
}

extension HTTPError {
    static let cancelledCall = HTTPError(code: .cancelled, message: "the call was cancelled")
}
