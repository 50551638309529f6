import Foundation
import Synchronization

/// Polls `condition` (a state the code under test exposes) until it holds; fails after
/// `timeout` so a broken condition cannot hang the run. The limit only bounds a failing test:
/// a passing one returns as soon as the condition holds. It is generous because the test suites
/// share one PostgreSQL server and run in parallel, and on a busy machine the whole server was
/// once seen to stall for about 10 s while dozens of fleet tests dropped their databases.
public func waitUntil(
    timeout: Duration = .seconds(60), _ condition: @Sendable () async throws -> Bool
) async throws {
    let deadline = ContinuousClock.now.advanced(by: timeout)
    while try await !condition() {
        guard ContinuousClock.now < deadline else { throw TestDatabaseError("condition not met within \(timeout)") }
        try await Task.sleep(for: .milliseconds(5))
    }
}

/// A thread-safe append-only log for values observed by concurrent tasks.
public final class Recorder<Value: Sendable>: Sendable {
    private let storage = Mutex<[Value]>([])
    public init() {}
    public func append(_ value: Value) { storage.withLock { $0.append(value) } }
    public var values: [Value] { storage.withLock { $0 } }
}
