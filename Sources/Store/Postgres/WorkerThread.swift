import Foundation

/// One dedicated OS thread that runs blocking libpq jobs in FIFO order.
///
/// libpq calls block (network round trips), so they must never run on Swift's cooperative
/// pool. Every connection owns one `WorkerThread`; `run` bridges a job back to async code with a
/// checked continuation that is resumed exactly once: by the job, or with `poolShutdown` when
/// the thread no longer accepts work.
final class WorkerThread: @unchecked Sendable {
    // @unchecked Sendable: `jobs` and `isStopping` are only touched while holding `condition`;
    // `name` is immutable.
    private let condition = NSCondition()
    private var jobs: [@Sendable () -> Void] = []
    private var isStopping = false
    let name: String

    init(name: String) {
        self.name = name
        let thread = Thread { [self] in self.loop() }
        thread.name = name
        thread.start()
    }

    /// Queues `job`; returns false when the thread has been stopped (the job will never run).
    @discardableResult
    func submit(_ job: @escaping @Sendable () -> Void) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        guard !isStopping else { return false }
        jobs.append(job)
        condition.signal()
        return true
    }

    /// Runs `body` on this thread and returns its result to the calling task.
    func run<T: Sendable>(
        target: String, _ body: @escaping @Sendable () throws(PostgresError) -> T
    ) async throws(PostgresError) -> T {
        let result: Result<T, PostgresError> = await withCheckedContinuation { continuation in
            let accepted = submit {
                do throws(PostgresError) {
                    continuation.resume(returning: .success(try body()))
                } catch {
                    continuation.resume(returning: .failure(error))
                }
            }
            if !accepted {
                continuation.resume(returning: .failure(PostgresError(code: .poolShutdown, target: target)))
            }
        }
        return try result.get()
    }

    /// Lets queued jobs finish, then ends the thread. Later `submit` calls are refused.
    func stop() {
        condition.lock()
        isStopping = true
        condition.signal()
        condition.unlock()
    }

    private func loop() {
        while true {
            condition.lock()
            while jobs.isEmpty && !isStopping { condition.wait() }
            if jobs.isEmpty {  // stopping and drained
                condition.unlock()
                return
            }
            let batch = jobs
            jobs.removeAll(keepingCapacity: true)
            condition.unlock()
            for job in batch { job() }
        }
    }
}
