import Logging
import Synchronization
import Support

/// The state behind one `OutboxFollower.records(after:)` stream: a buffer of fetched rows, the
/// last position, and a NOTIFY watcher that wakes the poll loop early.
final class OutboxCursor: Sendable {
    private let follower: OutboxFollower
    private let wake = WakeSignal()
    private let state: Mutex<State>

    private struct State {
        var position: OutboxPosition
        var buffer: [OutboxRecord] = []
        var bufferIndex = 0
        var watcher: Task<Void, Never>?
    }

    init(follower: OutboxFollower, position: OutboxPosition) {
        self.follower = follower
        self.state = Mutex(State(position: position))
    }

    deinit {
        state.withLock { $0.watcher?.cancel() }
    }

    /// The next record; nil when the consuming task is cancelled.
    func next() async throws -> OutboxRecord? {
        startWatcherIfNeeded()
        var failures = 0
        while !Task.isCancelled {
            if let record = popBuffered() { return record }
            let position = state.withLock { $0.position }
            do {
                let batch = try await follower.fetch(after: position, limit: follower.batchSize)
                failures = 0
                if !batch.isEmpty {
                    state.withLock { state in
                        state.buffer = batch
                        state.bufferIndex = 0
                    }
                    continue
                }
                await waitForWake(follower.pollInterval)
            } catch let error as PostgresError where error.isRetryable {
                failures += 1
                follower.pool.logger.warning("outbox follower retrying after error: \(error)")
                do {
                    try await follower.pool.clock.sleep(follower.pool.configuration.reconnectBackoff.delay(attempt: failures))
                } catch {
                    return nil
                }
            } catch is CancellationError {
                return nil
            }
        }
        return nil
    }

    private func popBuffered() -> OutboxRecord? {
        state.withLock { state in
            guard state.bufferIndex < state.buffer.count else { return nil }
            let record = state.buffer[state.bufferIndex]
            state.bufferIndex += 1
            state.position = record.position
            if state.bufferIndex == state.buffer.count {
                state.buffer = []
                state.bufferIndex = 0
            }
            return record
        }
    }

    private func startWatcherIfNeeded() {
        state.withLock { state in
            guard state.watcher == nil else { return }
            let notifications = follower.pool.notifications(channel: follower.channel)
            let wake = self.wake
            state.watcher = Task {
                do {
                    for try await _ in notifications { wake.signal() }
                } catch {
                    // Polling continues without early wake-ups.
                }
            }
        }
    }

    private func waitForWake(_ timeout: Duration) async {
        let wake = self.wake
        let clock = follower.pool.clock
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await wake.wait() }
            group.addTask { try? await clock.sleep(timeout) }
            await group.next()
            group.cancelAll()
        }
    }
}

/// A level-triggered wake-up: `signal` before `wait` is remembered once.
final class WakeSignal: Sendable {
    private let state = Mutex<(pending: Bool, waiter: CheckedContinuation<Void, Never>?)>((false, nil))

    func signal() {
        let waiter = state.withLock { state in
            guard let waiter = state.waiter else {
                state.pending = true
                return nil as CheckedContinuation<Void, Never>?
            }
            state.waiter = nil
            return waiter
        }
        waiter?.resume()
    }

    /// Returns at the next signal (or a pending one), or when the task is cancelled.
    func wait() async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let resumeNow = state.withLock { state in
                    if state.pending || Task.isCancelled {
                        state.pending = false
                        return true
                    }
                    state.waiter = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            let waiter = state.withLock { state in
                defer { state.waiter = nil }
                return state.waiter
            }
            waiter?.resume()
        }
    }
}
