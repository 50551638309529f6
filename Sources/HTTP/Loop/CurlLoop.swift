import CCurl
import Foundation
import Logging
import Synchronization
import Support

/// The one thread that owns the libcurl multi handle and drives every transfer.
///
/// Other threads talk to it only through the command queue in `inbox` followed by
/// `curl_multi_wakeup`; the loop drains the queue after every wakeup. Libcurl handles (easy, multi,
/// share) are touched only on the loop thread.
///
/// `@unchecked Sendable`: all mutable state except `inbox` is confined to the loop thread
/// (`run()` and the libcurl callbacks it triggers); `inbox` is a Mutex, and `multi` is only used
/// off-thread for `curl_multi_wakeup` while `inbox.stopped` is false (checked under the same lock
/// the loop takes before `curl_multi_cleanup`).
final class CurlLoop: @unchecked Sendable {
    enum Command {
        case add(Transfer)
        case cancel(Transfer)
        case resume(Transfer)
        /// Check stream idle timeouts now, then resume the caller.
        case recheckIdle(CheckedContinuation<Void, Never>)
        case shutdown
    }

    private struct Inbox {
        var commands: [Command] = []
        var stopped = false
        var exited = false
        var joinWaiters: [CheckedContinuation<Void, Never>] = []
    }

    private let inbox = Mutex(Inbox())
    let multi: UnsafeMutableRawPointer
    let logger: Logger
    let metrics: HTTPMetrics
    /// Set in event-driven mode (Linux, `LoopMechanism.epoll`); nil means `curl_multi_poll`.
    private let epoll: EpollDriver?
    /// The stream idle watchdog's clock (`lastActivity`, `nextIdleCheck` are on it).
    let idleTime: IdleTime

    // MARK: loop thread only
    var active: [ObjectIdentifier: Transfer] = [:]
    var shares: [HTTPIdentity: UnsafeMutableRawPointer] = [:]
    private var nextIdleCheck: UInt64 = .max

    init(logger: Logger, metrics: HTTPMetrics, maxCachedConnections: Int, useEpoll: Bool, idleTime: IdleTime) {
        _ = CurlLoop.globalInit
        self.multi = curl_multi_init()
        self.idleTime = idleTime
        self.logger = logger
        self.metrics = metrics
        self.epoll = useEpoll ? EpollDriver() : nil
        epoll?.logger = logger
        epoll?.attach(to: multi)
        ewsf_multi_setopt_long(multi, CURLMOPT_MAXCONNECTS, maxCachedConnections)
        let thread = Thread { [self] in run() }
        thread.name = "ewsf-curl-loop"
        thread.start()
    }

    /// libcurl's global init is not thread-safe in older releases; a lazy global runs it once.
    private static let globalInit: Void = {
        curl_global_init(ewsf_global_all())
    }()

    // MARK: commands (any thread)

    /// Returns false when the loop has stopped (the command was not queued).
    @discardableResult
    private func enqueue(_ command: Command) -> Bool {
        inbox.withLock { inbox in
            guard !inbox.stopped else { return false }
            inbox.commands.append(command)
            wake()
            return true
        }
    }

    func submit(_ transfer: Transfer) {
        if !enqueue(.add(transfer)) { transfer.fail(.shutdownError) }
    }

    func cancel(_ transfer: Transfer) { enqueue(.cancel(transfer)) }
    func resume(_ transfer: Transfer) { enqueue(.resume(transfer)) }

    /// Returns once the loop has checked every stream against the idle clock's current time.
    func recheckIdle() async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            if !enqueue(.recheckIdle(c)) { c.resume() }
        }
    }

    /// Fails every in-flight call with `.shutdown` and returns once the loop thread has exited.
    func shutdown() async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let exited = inbox.withLock { inbox -> Bool in
                if inbox.exited { return true }
                inbox.joinWaiters.append(c)
                if !inbox.stopped {
                    inbox.commands.append(.shutdown)
                    wake()
                }
                return false
            }
            if exited { c.resume() }
        }
    }

    /// Interrupts the loop's wait. Called with `inbox` locked and `stopped == false`.
    private func wake() {
        if let epoll { epoll.signal() } else { curl_multi_wakeup(multi) }
    }

    /// Without waiting; for `deinit` paths.
    func shutdownDetached() { enqueue(.shutdown) }

    // MARK: the loop

    private func run() {
        while true {
            let commands = inbox.withLock { inbox -> [Command] in
                defer { inbox.commands = [] }
                return inbox.commands
            }
            for command in commands {
                switch command {
                case .add(let t): start(t)
                case .cancel(let t): remove(t, error: .cancelledCall)
                case .resume(let t): unpause(t)
                case .recheckIdle(let c):
                    checkIdle(now: idleTime.now())
                    c.resume()
                case .shutdown:
                    stopEverything()
                    return
                }
            }
            if let epoll { epollStep(epoll) } else { pollStep() }
        }
    }

    /// `curl_multi_poll` mode: every wakeup walks all transfers (libcurl) and all sockets (poll).
    private func pollStep() {
        var running: Int32 = 0
        curl_multi_perform(multi, &running)
        drainMessages()
        let idleNow = idleTime.now()
        if idleNow >= nextIdleCheck { checkIdle(now: idleNow) }
        var curlTimeout = -1
        curl_multi_timeout(multi, &curlTimeout)
        let wait = waitMillis(idleNow: idleNow, curlMillis: curlTimeout < 0 ? nil : curlTimeout)
        curl_multi_poll(multi, nil, 0, wait, nil)
    }

    /// Event-driven mode: libcurl's timer, then epoll, each socket event to libcurl.
    private func epollStep(_ epoll: EpollDriver) {
        epoll.fireTimerIfDue(multi: multi, now: monotonicNanos())
        drainMessages()
        let idleNow = idleTime.now()
        if idleNow >= nextIdleCheck { checkIdle(now: idleNow) }
        epoll.wait(multi: multi, timeoutMs: waitMillis(idleNow: idleNow, curlMillis: epoll.timerMillis(now: monotonicNanos())))
        drainMessages()
    }

    /// How long to block: until libcurl's next timeout (real time) or the next idle check (on the
    /// idle clock), at most 1 s.
    private func waitMillis(idleNow: UInt64, curlMillis: Int?) -> Int32 {
        var wait = 1000
        if let curlMillis { wait = min(wait, max(0, curlMillis)) }
        if nextIdleCheck != .max {
            wait = min(wait, nextIdleCheck <= idleNow ? 0 : Int(min(1000, (nextIdleCheck - idleNow + 999_999) / 1_000_000)))
        }
        return Int32(wait)
    }

    private func start(_ t: Transfer) {
        if t.isCancelled { return }
        do throws(HTTPError) {
            try configure(t, share: shareHandle(for: t.request.identity))
        } catch {
            cleanupEasy(t)
            t.fail(error)
            return
        }
        let now = idleTime.now()
        t.startedAt = monotonicNanos()
        t.lastActivity = now
        active[ObjectIdentifier(t)] = t
        metrics.recordRequest(t.kind)
        let rc = curl_multi_add_handle(multi, t.easy)
        if rc != CURLM_OK {
            active[ObjectIdentifier(t)] = nil
            cleanupEasy(t)
            t.fail(HTTPError(code: .transport, message: "curl_multi_add_handle: \(String(cString: curl_multi_strerror(rc)))"))
            return
        }
        if t.kind == .stream {
            nextIdleCheck = min(nextIdleCheck, now + t.request.timeouts.idleRead.wholeNanoseconds)
        }
    }

    /// Takes a transfer out of the multi handle and fails its caller (no-op when already gone).
    private func remove(_ t: Transfer, error: HTTPError) {
        guard active.removeValue(forKey: ObjectIdentifier(t)) != nil else { return }
        curl_multi_remove_handle(multi, t.easy)
        metrics.recordBytes(t.bytesReceived)
        cleanupEasy(t)
        t.fail(error)
    }

    private func unpause(_ t: Transfer) {
        guard active[ObjectIdentifier(t)] != nil, t.paused else { return }
        t.paused = false
        t.lastActivity = idleTime.now()
        if t.kind == .stream {
            nextIdleCheck = min(nextIdleCheck, t.lastActivity + t.request.timeouts.idleRead.wholeNanoseconds)
        }
        // May call the write callback synchronously with data libcurl held back.
        curl_easy_pause(t.easy, ewsf_pause_cont())
    }

    private func drainMessages() {
        var left: Int32 = 0
        while let msg = curl_multi_info_read(multi, &left) {
            guard msg.pointee.msg == CURLMSG_DONE, let easy = msg.pointee.easy_handle else { continue }
            let result = ewsf_msg_result(msg)
            var priv: UnsafeMutableRawPointer?
            ewsf_easy_getinfo_ptr(easy, CURLINFO_PRIVATE, &priv)
            guard let priv else { continue }
            let t = Unmanaged<Transfer>.fromOpaque(priv).takeUnretainedValue()
            finish(t, result: result)
        }
    }

    private func finish(_ t: Transfer, result: CURLcode) {
        guard active.removeValue(forKey: ObjectIdentifier(t)) != nil else { return }
        let timing = readTiming(t.easy)
        var connectTime: curl_off_t = 0
        // PRETRANSFER, not CONNECT: a reused keep-alive connection reports a connect time of 0.
        ewsf_easy_getinfo_off(t.easy, CURLINFO_PRETRANSFER_TIME_T, &connectTime)
        curl_multi_remove_handle(multi, t.easy)
        metrics.recordBytes(t.bytesReceived)
        if t.kind == .normal { metrics.recordLatency(.normal, nanoseconds: monotonicNanos() - t.startedAt) }
        if result == CURLE_OK {
            let head = HTTPResponseHead(status: t.status, headers: t.headers)
            switch t.kind {
            case .normal:
                t.request.cookies?.capture(from: head)
                let response = HTTPResponse(head: head, body: t.body, timing: timing, receivedAt: .now)
                cleanupEasy(t)
                t.complete(response)
            case .stream:
                cleanupEasy(t)
                if !t.headDelivered { t.deliverHeadFromLoop() }
                t.finishBody()
            }
        } else {
            let message = String(cString: t.errorBuffer)
            let error = t.bodyTooLarge
                ? HTTPError(code: .responseTooLarge,
                            message: "the response body is larger than the limit of \(t.maxBodyBytes) bytes; none of it was used")
                : HTTPError(curl: result, detail: message, connected: connectTime > 0)
            cleanupEasy(t)
            t.fail(error)
        }
    }

    /// Streams only: fails those that received no byte for their idle timeout, unless paused by
    /// our own full buffer (that time does not count).
    private func checkIdle(now: UInt64) {
        var next = UInt64.max
        var expired: [Transfer] = []
        for t in active.values where t.kind == .stream && !t.paused {
            let deadline = t.lastActivity + t.request.timeouts.idleRead.wholeNanoseconds
            if deadline <= now { expired.append(t) } else { next = min(next, deadline) }
        }
        nextIdleCheck = next
        for t in expired {
            let limit = t.request.timeouts.idleRead
            let detail = t.headDelivered ? "\(t.bytesReceived) body bytes received" : "no response head yet"
            remove(t, error: HTTPError(code: .idleTimeout, message: "no data received for \(limit) (\(detail))"))
        }
    }

    private func stopEverything() {
        let leftover = inbox.withLock { inbox -> [Command] in
            inbox.stopped = true
            defer { inbox.commands = [] }
            return inbox.commands
        }
        for command in leftover {
            switch command {
            case .add(let t): t.fail(.shutdownError)
            case .recheckIdle(let c): c.resume()
            default: break
            }
        }
        for t in Array(active.values) { remove(t, error: .shutdownError) }
        for share in shares.values { curl_share_cleanup(share) }
        shares = [:]
        curl_multi_cleanup(multi)
        epoll?.close()
        let waiters = inbox.withLock { inbox -> [CheckedContinuation<Void, Never>] in
            inbox.exited = true
            defer { inbox.joinWaiters = [] }
            return inbox.joinWaiters
        }
        logger.debug("curl loop stopped")
        for w in waiters { w.resume() }
    }
}

extension HTTPError {
    static let shutdownError = HTTPError(code: .shutdown, message: "the HTTP client is shut down")
}

func monotonicNanos() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}
