import Synchronization

/// Explicit readiness for tests: a counter that tasks can await reaching a value.
final class AsyncCounter: Sendable {
    private struct State {
        var value = 0
        var waiters: [(target: Int, continuation: CheckedContinuation<Void, Never>)] = []
    }

    private let state = Mutex(State())

    init() {}

    var value: Int { state.withLock { $0.value } }

    func increment(by n: Int = 1) {
        let ready = state.withLock { s -> [CheckedContinuation<Void, Never>] in
            s.value += n
            let v = s.value
            let ready = s.waiters.filter { $0.target <= v }.map(\.continuation)
            s.waiters.removeAll { $0.target <= v }
            return ready
        }
        for c in ready { c.resume() }
    }

    /// Returns once the counter is at least `target`.
    func wait(atLeast target: Int) async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let now = state.withLock { s -> Bool in
                if s.value >= target { return true }
                s.waiters.append((target, c))
                return false
            }
            if now { c.resume() }
        }
    }
}

/// A one-shot gate: `wait()` returns once `open()` was called.
final class Gate: Sendable {
    private let counter = AsyncCounter()
    init() {}
    func open() { counter.increment() }
    func wait() async { await counter.wait(atLeast: 1) }
}
