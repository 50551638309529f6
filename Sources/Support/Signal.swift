import Foundation
import Synchronization

/// A one-shot readiness signal between tasks: `wait` returns once `fire` has been called
/// (before or after the wait started). Tests use it for explicit readiness; the PostgreSQL pool
/// for "every lent connection is back" at shutdown.
public final class Signal: Sendable {
    private let state = Mutex<(fired: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))

    public init() {}

    public func fire() {
        let waiters = state.withLock { state in
            state.fired = true
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    public var isFired: Bool { state.withLock { $0.fired } }

    public func wait() async {
        await withCheckedContinuation { continuation in
            let fired = state.withLock { state in
                if state.fired { return true }
                state.waiters.append(continuation)
                return false
            }
            if fired { continuation.resume() }
        }
    }
}
