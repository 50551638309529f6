import Synchronization

/// A counting semaphore for async callers; bounds concurrent normal calls per identity.
/// Waiting callers are served first-in first-out; a cancelled waiter leaves the queue at once.
final class AsyncSemaphore: Sendable {
    private struct State {
        var available: Int
        var waiters: [(id: UInt64, continuation: CheckedContinuation<Void, any Error>)] = []
        var nextID: UInt64 = 0
    }

    private let state: Mutex<State>

    init(permits: Int) { state = Mutex(State(available: max(1, permits))) }

    func acquire() async throws {
        let id = state.withLock { s -> UInt64 in
            s.nextID += 1
            return s.nextID
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (c: CheckedContinuation<Void, any Error>) in
                let granted = state.withLock { s -> Bool in
                    if s.available > 0 && s.waiters.isEmpty {
                        s.available -= 1
                        return true
                    }
                    s.waiters.append((id, c))
                    return false
                }
                if granted { c.resume() }
            }
        } onCancel: {
            let c = state.withLock { s -> CheckedContinuation<Void, any Error>? in
                guard let i = s.waiters.firstIndex(where: { $0.id == id }) else { return nil }
                return s.waiters.remove(at: i).continuation
            }
            c?.resume(throwing: HTTPError.cancelledCall)
        }
    }

    func release() {
        let next = state.withLock { s -> CheckedContinuation<Void, any Error>? in
            if s.waiters.isEmpty {
                s.available += 1
                return nil
            }
            return s.waiters.removeFirst().continuation
        }
        next?.resume()
    }
}
