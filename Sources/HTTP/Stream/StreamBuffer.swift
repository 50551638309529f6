import Foundation
import Synchronization

/// Thread-safe shell around `StreamBufferState`: the loop thread offers chunks, the consumer's task
/// takes them. Continuations are always resumed outside the lock.
final class StreamBuffer: Sendable {
    private let state: Mutex<StreamBufferState>
    /// Asks the loop to un-pause the transfer; set once by the transfer before any data flows.
    private let resumeProducer: @Sendable () -> Void

    init(limits: StreamBufferState.Limits, resumeProducer: @escaping @Sendable () -> Void) {
        self.state = Mutex(StreamBufferState(limits: limits))
        self.resumeProducer = resumeProducer
    }

    /// Loop thread. Returns false when the producer must pause (the data was not taken).
    func offer(_ data: Data) -> Bool {
        switch state.withLock({ $0.offer(data) }) {
        case .accepted(let waiter):
            waiter?.resume(returning: data)
            return true
        case .pause(let pauseWaiters):
            for w in pauseWaiters { w.resume() }
            return false
        case .discard:
            return true
        }
    }

    func finish(error: (any Error)?, discardBuffered: Bool = false) {
        let action = state.withLock { $0.finish(error: error, discardBuffered: discardBuffered) }
        for w in action.pauseWaiters { w.resume() }
        if let (waiter, result) = action.waiter { waiter.resume(with: result) }
    }

    /// Consumer side: the next chunk, nil at the end of the body.
    func next() async throws -> Data? {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Data?, any Error>) in
            switch state.withLock({ $0.next(continuation) }) {
            case .wait:
                break
            case .resume(let c, let result, let resume):
                c.resume(with: result)
                if resume { resumeProducer() }
            }
        }
    }

    var stats: (pauseCount: Int, maxBufferedBytes: Int, bufferedBytes: Int) {
        state.withLock { ($0.pauseCount, $0.maxBufferedBytes, $0.bufferedBytes) }
    }

    /// Whether the transfer has ended the body (completed, failed or timed out).
    var isFinished: Bool { state.withLock { $0.isFinished } }

    /// Test hook: returns once the producer has been paused by a full buffer.
    func waitUntilPaused() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            if state.withLock({ $0.waitForPause(continuation) }) { continuation.resume() }
        }
    }
}
