import CCurl
import Foundation
import Logging

/// Event-driven mode of the loop on Linux: `curl_multi_socket_action` with epoll, so each wakeup
/// costs O(ready sockets) instead of O(all transfers) as with `curl_multi_poll`.
///
/// Loop thread only, except `signal()` (an eventfd write, safe from any thread while the loop has
/// not stopped — the same rule as `curl_multi_wakeup`). `@unchecked Sendable` for that reason.
final class EpollDriver: @unchecked Sendable {
    let epfd: Int32
    let wakeFD: Int32
    var logger: Logger?
    /// When libcurl wants `curl_multi_socket_action(CURL_SOCKET_TIMEOUT)`; `.max` = no timer.
    var timerDeadline: UInt64 = .max

    /// Milliseconds until libcurl's timer is due (rounded up), nil when none is set.
    func timerMillis(now: UInt64) -> Int? {
        if timerDeadline == .max { return nil }
        return timerDeadline <= now ? 0 : Int((timerDeadline - now + 999_999) / 1_000_000)
    }

    init?() {
        #if os(Linux)
        epfd = ewsf_epoll_create()
        wakeFD = ewsf_eventfd()
        guard epfd >= 0, wakeFD >= 0 else { return nil }
        _ = ewsf_epoll_set(epfd, EPOLL_CTL_ADD, wakeFD, 1, 0)
        #else
        return nil
        #endif
    }

    func attach(to multi: UnsafeMutableRawPointer) {
        let me = Unmanaged.passUnretained(self).toOpaque()
        ewsf_multi_setopt_socket_cb(multi, epollSocketCallback)
        ewsf_multi_setopt_ptr(multi, CURLMOPT_SOCKETDATA, me)
        ewsf_multi_setopt_timer_cb(multi, epollTimerCallback)
        ewsf_multi_setopt_ptr(multi, CURLMOPT_TIMERDATA, me)
    }

    func signal() {
        #if os(Linux)
        ewsf_eventfd_signal(wakeFD)
        #endif
    }

    func close() {
        #if os(Linux)
        Glibc.close(epfd)
        Glibc.close(wakeFD)
        #endif
    }

    /// Waits for socket events and hands each to libcurl.
    func wait(multi: UnsafeMutableRawPointer, timeoutMs: Int32) {
        #if os(Linux)
        var fds = [Int32](repeating: 0, count: 256)
        var masks = [Int32](repeating: 0, count: 256)
        let n = ewsf_epoll_wait(epfd, &fds, &masks, 256, timeoutMs)
        guard n > 0 else { return }
        var running: Int32 = 0
        for i in 0..<Int(n) {
            if fds[i] == wakeFD {
                ewsf_eventfd_drain(wakeFD)
            } else {
                curl_multi_socket_action(multi, fds[i], masks[i], &running)
            }
        }
        #endif
    }

    /// Runs libcurl's timeout processing when its timer is due.
    func fireTimerIfDue(multi: UnsafeMutableRawPointer, now: UInt64) {
        guard now >= timerDeadline else { return }
        timerDeadline = .max  // libcurl may set a new timer from inside the call
        var running: Int32 = 0
        curl_multi_socket_action(multi, ewsf_socket_timeout(), 0, &running)
    }

    fileprivate func update(socket: Int32, what: Int32) {
        #if os(Linux)
        if what == CURL_POLL_REMOVE {
            // May fail harmlessly when the socket was already closed (the kernel dropped it).
            _ = ewsf_epoll_set(epfd, EPOLL_CTL_DEL, socket, 0, 0)
            return
        }
        let wantIn: Int32 = (what & CURL_POLL_IN) != 0 ? 1 : 0
        let wantOut: Int32 = (what & CURL_POLL_OUT) != 0 ? 1 : 0
        if ewsf_epoll_upsert(epfd, socket, wantIn, wantOut) != 0 {
            logger?.error("epoll_ctl failed for a libcurl socket", metadata: ["errno": "\(errno)"])
        }
        #endif
    }
}

private let epollSocketCallback: @convention(c) (UnsafeMutableRawPointer?, curl_socket_t, Int32, UnsafeMutableRawPointer?, UnsafeMutableRawPointer?) -> Int32 = {
    _, socket, what, userData, _ in
    guard let userData else { return 0 }
    Unmanaged<EpollDriver>.fromOpaque(userData).takeUnretainedValue().update(socket: socket, what: what)
    return 0
}

private let epollTimerCallback: @convention(c) (UnsafeMutableRawPointer?, Int, UnsafeMutableRawPointer?) -> Int32 = {
    _, timeoutMs, userData in
    guard let userData else { return 0 }
    let driver = Unmanaged<EpollDriver>.fromOpaque(userData).takeUnretainedValue()
    driver.timerDeadline = timeoutMs < 0 ? .max : monotonicNanos() + UInt64(timeoutMs) * 1_000_000
    return 0
}
