public import Logging
import Synchronization
import Support

/// A fixed-capacity pool of libpq connections, each on its own dedicated thread.
///
/// Connections are lent exclusively (`withConnection`, `withTransaction`); borrowers wait in
/// FIFO order and leave the queue when cancelled. Connections open lazily; a connection found
/// dead (server restart, terminated backend) is replaced on next use, with connect attempts
/// paced by `reconnectBackoff` on the injected clock.
public final class PostgresPool: Sendable {
    public let configuration: PostgresConfiguration
    let logger: Logger
    let clock: PoolClock
    /// "host:port/dbname" (never the password).
    public let target: String
    let connInfo: Result<ConnInfo, PostgresError>
    let state: Mutex<State>
    /// Fired once every lent connection has come back and been closed after `shutdown`.
    let drained = Signal()

    struct State: ~Copyable {
        var machine: PoolStateMachine
        var slots: [Int: ConnectionSlot] = [:]
        var waiters: [Int: CheckedContinuation<ConnectionSlot, any Error>] = [:]
        var nextWaiterID = 0
        var gate = ReconnectGate()
        var random = SystemRandomNumberGenerator()
        var listeners: [Int: Task<Void, Never>] = [:]
        var nextListenerID = 0
    }

    public convenience init(_ configuration: PostgresConfiguration, logger: Logger) {
        self.init(configuration, logger: logger, clock: ContinuousClock())
    }

    /// `clock` paces reconnect backoff (and the outbox follower's poll interval).
    public init(_ configuration: PostgresConfiguration, logger: Logger, clock: some Clock<Duration>) {
        self.configuration = configuration
        self.clock = PoolClock(clock)
        do throws(PostgresError) {
            let info = try ConnInfo.parse(configuration.url)
            connInfo = .success(info)
            target = info.target
        } catch {
            connInfo = .failure(error)
            target = error.target
        }
        var logger = logger
        logger[metadataKey: "db"] = "\(target)"
        self.logger = logger
        state = Mutex(State(machine: PoolStateMachine(capacity: configuration.poolSize)))
    }

    /// A pool dropped without `shutdown()` still ends its threads and connections. No lease
    /// can be active here (every lease keeps the pool alive).
    deinit {
        state.withLock { state in
            for slot in state.slots.values { slot.close() }
            for listener in state.listeners.values { listener.cancel() }
        }
    }

    // MARK: lending

    /// Lends one connection exclusively for `body`. A transaction left open by `body` is rolled
    /// back before the connection returns to the pool.
    @discardableResult
    public func withConnection<T: Sendable>(_ body: (PostgresConnection) async throws -> T) async throws -> T {
        let slot = try await acquire()
        do {
            try await prepare(slot)
        } catch {
            release(slot)
            throw error
        }
        let connection = PostgresConnection(slot: slot)
        let outcome: Result<T, any Error>
        do {
            outcome = .success(try await body(connection))
        } catch {
            outcome = .failure(error)
        }
        connection.endLease()
        if slot.takeCancelRequested() {
            _ = try? await slot.run { $0.close() }
        } else {
            _ = try? await slot.run { $0.cleanUpAfterLease() }
        }
        release(slot)
        return try outcome.get()
    }

    /// Runs `body` between BEGIN and COMMIT; any thrown error rolls back and is rethrown.
    ///
    /// If the connection breaks during COMMIT, the error is `connectionLost` and whether the
    /// transaction committed is unknown: make such work idempotent.
    @discardableResult
    public func withTransaction<T: Sendable>(_ body: (PostgresConnection) async throws -> T) async throws -> T {
        try await withConnection { connection in
            try await connection.query("BEGIN", name: "BEGIN")
            do {
                let value = try await body(connection)
                let commit = try await connection.query("COMMIT", name: "COMMIT")
                // COMMIT of a transaction with a failed (and caught) statement silently rolls
                // back; never report that as success.
                if commit.commandTag == "ROLLBACK" {
                    throw PostgresError(
                        code: .server, sqlState: "25P02",
                        message: "transaction was rolled back: a statement inside it failed",
                        queryName: "COMMIT", target: target)
                }
                return value
            } catch {
                // Fails fast if the link is gone; the lease cleanup rolls back in any case.
                _ = try? await connection.query("ROLLBACK", name: "ROLLBACK")
                throw error
            }
        }
    }

    /// Fails waiting borrowers, closes idle connections and LISTEN streams, and returns once
    /// every lent connection has come back and been closed.
    public func shutdown() async {
        let (waiters, slots, drained, listeners) = state.withLock { state in
            let action = state.machine.shutdown()
            let waiters = action.failWaiters.compactMap { state.waiters.removeValue(forKey: $0) }
            let slots = action.closeSlots.compactMap { state.slots.removeValue(forKey: $0) }
            let listeners = Array(state.listeners.values)
            state.listeners = [:]
            return (waiters, slots, action.drained, listeners)
        }
        for waiter in waiters { waiter.resume(throwing: PostgresError(code: .poolShutdown, target: target)) }
        for slot in slots { slot.close() }
        for listener in listeners { listener.cancel() }
        for listener in listeners { await listener.value }
        if drained { self.drained.fire() }
        await self.drained.wait()
        logger.debug("postgres pool shut down")
    }

    // MARK: internals

    private func acquire() async throws -> ConnectionSlot {
        let waiterID = state.withLock { state in
            defer { state.nextWaiterID += 1 }
            return state.nextWaiterID
        }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                let immediate: Result<ConnectionSlot, any Error>? = state.withLock { state in
                    if Task.isCancelled { return .failure(CancellationError()) }
                    switch state.machine.acquire(waiterID) {
                    case .lend(let id):
                        return .success(state.slots[id]!)
                    case .create(let id):
                        let slot = ConnectionSlot(id: id, info: (try? connInfo.get()) ?? ConnInfo(), logger: logger)
                        state.slots[id] = slot
                        return .success(slot)
                    case .wait:
                        state.waiters[waiterID] = continuation
                        return nil
                    case .failShutdown:
                        return .failure(PostgresError(code: .poolShutdown, target: target))
                    }
                }
                if let immediate { continuation.resume(with: immediate) }
            }
        } onCancel: {
            let continuation = state.withLock { state in
                state.machine.cancel(waiterID) ? state.waiters.removeValue(forKey: waiterID) : nil
            }
            continuation?.resume(throwing: CancellationError())
        }
    }

    private func release(_ slot: ConnectionSlot) {
        let (action, next) = state.withLock { state in
            let action = state.machine.release(slot.id)
            var next: CheckedContinuation<ConnectionSlot, any Error>?
            switch action {
            case .lend(_, let waiter):
                next = state.waiters.removeValue(forKey: waiter)
            case .idle:
                break
            case .close(let id, _):
                state.slots[id] = nil
            }
            return (action, next)
        }
        if case .close = action { slot.close() }
        next?.resume(returning: slot)
        if case .close(_, drained: true) = action { drained.fire() }
    }

    /// Makes sure the slot holds a live connection, (re)connecting if needed.
    private func prepare(_ slot: ConnectionSlot) async throws {
        if try await slot.run({ $0.checkHealth() }) { return }
        try await connect(slot)
    }

    func connect(_ slot: ConnectionSlot) async throws {
        _ = try connInfo.get()  // an unparseable URL fails here, before any backoff
        let delay = state.withLock { $0.gate.delay(now: clock.now()) }
        if delay > .zero {
            logger.debug("waiting before reconnect", metadata: ["delay": "\(delay)"])
            try await clock.sleep(delay)
        }
        let configuration = self.configuration
        do {
            try await slot.run { connection throws(PostgresError) in
                try connection.connect(
                    url: configuration.url, connectTimeout: configuration.connectTimeout,
                    applicationName: configuration.applicationName)
            }
            let failures = state.withLock { state in
                defer { state.gate.recordSuccess() }
                return state.gate.consecutiveFailures
            }
            logger.debug("postgres connection opened", metadata: ["slot": "\(slot.id)", "after_failures": "\(failures)"])
        } catch {
            state.withLock { state in
                state.gate.recordFailure(now: clock.now(), backoff: configuration.reconnectBackoff, generator: &state.random)
            }
            logger.warning("postgres connect failed: \(error)")
            throw error
        }
    }
}

extension PostgresPool {
    /// Borrowers currently queued for a connection (for tests and metrics).
    var waitingCount: Int { state.withLock { $0.machine.waiters.count } }
}
