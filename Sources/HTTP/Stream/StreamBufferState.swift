import Foundation

/// The bounded buffer between libcurl's write callback (producer, loop thread) and the consumer of
/// an `HTTPStream`, as a plain state machine: every transition returns what the caller must do.
///
/// The producer is told to pause once the buffer holds `highWater` bytes or `maxChunks` chunks;
/// the consumer asks for a resume once it has drained to `lowWater` bytes. So memory per stream is
/// bounded by `highWater` plus one libcurl read.
struct StreamBufferState {
    struct Limits: Sendable, Hashable {
        var highWater: Int
        var lowWater: Int
        var maxChunks: Int
    }

    enum Phase {
        case open
        /// Producer finished; buffered chunks are still delivered, then `error` (nil = clean end).
        case finishing((any Error)?)
        case done
    }

    let limits: Limits
    private var chunks: [Data] = []
    private var head = 0
    private(set) var bufferedBytes = 0
    private(set) var producerPaused = false
    private var phase = Phase.open
    /// Whether the producer has ended the body (with or without an error).
    var isFinished: Bool { if case .open = phase { false } else { true } }
    private var waiter: CheckedContinuation<Data?, any Error>?
    private var pauseWaiters: [CheckedContinuation<Void, Never>] = []
    // Observations for tests and diagnostics.
    private(set) var pauseCount = 0
    private(set) var maxBufferedBytes = 0

    init(limits: Limits) { self.limits = limits }

    private var chunkCount: Int { chunks.count - head }

    // MARK: producer

    enum OfferAction {
        /// Data taken; resume the waiting consumer with it if there is one.
        case accepted(CheckedContinuation<Data?, any Error>?)
        /// Buffer full: return CURL_WRITEFUNC_PAUSE; wake anyone waiting to observe a pause.
        case pause([CheckedContinuation<Void, Never>])
        /// Consumer gone; drop the data (a cancel is on its way to the loop).
        case discard
    }

    mutating func offer(_ data: Data) -> OfferAction {
        guard case .open = phase else { return .discard }
        if let waiter {
            self.waiter = nil
            return .accepted(waiter)
        }
        if bufferedBytes >= limits.highWater || chunkCount >= limits.maxChunks {
            producerPaused = true
            pauseCount += 1
            defer { pauseWaiters = [] }
            return .pause(pauseWaiters)
        }
        chunks.append(data)
        bufferedBytes += data.count
        maxBufferedBytes = max(maxBufferedBytes, bufferedBytes)
        return .accepted(nil)
    }

    struct FinishAction {
        var waiter: (CheckedContinuation<Data?, any Error>, Result<Data?, any Error>)?
        var pauseWaiters: [CheckedContinuation<Void, Never>] = []
    }

    /// The producer ended: `error == nil` for a clean end of body. With `discardBuffered`
    /// (cancellation) buffered chunks are dropped and the error is reported at once.
    mutating func finish(error: (any Error)?, discardBuffered: Bool) -> FinishAction {
        switch phase {
        case .done: return FinishAction()
        case .finishing where !discardBuffered: return FinishAction()
        default: break
        }
        var action = FinishAction(pauseWaiters: pauseWaiters)
        pauseWaiters = []
        producerPaused = false
        if discardBuffered || chunkCount == 0 {
            chunks = []
            head = 0
            bufferedBytes = 0
            phase = .done
            pendingTerminal = error
        } else {
            phase = .finishing(error)
        }
        if let waiter {
            self.waiter = nil
            pendingTerminal = nil
            action.waiter = (waiter, error.map { .failure($0) } ?? .success(nil))
        }
        return action
    }

    // MARK: consumer

    enum NextAction {
        case resume(CheckedContinuation<Data?, any Error>, Result<Data?, any Error>, resumeProducer: Bool)
        case wait
    }

    mutating func next(_ continuation: CheckedContinuation<Data?, any Error>) -> NextAction {
        if chunkCount > 0 {
            let chunk = chunks[head]
            head += 1
            bufferedBytes -= chunk.count
            if head > 64 && head * 2 > chunks.count {
                chunks.removeFirst(head)
                head = 0
            }
            var resumeProducer = false
            if producerPaused && bufferedBytes <= limits.lowWater && chunkCount < limits.maxChunks {
                producerPaused = false
                resumeProducer = true
            }
            if case .finishing(let error) = phase, chunkCount == 0 {
                phase = .done
                if let error { pendingTerminal = error }
            }
            return .resume(continuation, .success(chunk), resumeProducer: resumeProducer)
        }
        switch phase {
        case .open:
            precondition(waiter == nil, "HTTPStream iterated concurrently")
            waiter = continuation
            return .wait
        case .finishing(let error):
            phase = .done
            if let error { return .resume(continuation, .failure(error), resumeProducer: false) }
            return .resume(continuation, .success(nil), resumeProducer: false)
        case .done:
            if let error = pendingTerminal {
                pendingTerminal = nil
                return .resume(continuation, .failure(error), resumeProducer: false)
            }
            return .resume(continuation, .success(nil), resumeProducer: false)
        }
    }

    /// An error to report on the call after the last chunk was handed out.
    private var pendingTerminal: (any Error)?

    /// Test hook: resumes when the producer is next told to pause (or at once if it is paused).
    mutating func waitForPause(_ continuation: CheckedContinuation<Void, Never>) -> Bool {
        if producerPaused { return true }
        pauseWaiters.append(continuation)
        return false
    }
}
