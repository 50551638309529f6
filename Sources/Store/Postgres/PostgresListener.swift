import Logging
import Support

/// Drives one LISTEN stream: a dedicated connection on its own thread, polling the socket with
/// a short timeout, reconnecting with backoff and re-issuing LISTEN after any failure.
struct PostgresListener: Sendable {
    let channel: String
    let configuration: PostgresConfiguration
    let info: ConnInfo
    let clock: PoolClock
    let logger: Logger

    /// Runs until cancelled (stream dropped or pool shut down) or a non-retryable error.
    func run(_ continuation: AsyncThrowingStream<PostgresNotification, any Error>.Continuation) async {
        let thread = WorkerThread(name: "ewsfleet-pg-listen")
        let connection = LibPQConnection(info: info, logger: logger)
        defer {
            thread.submit { connection.close() }
            thread.stop()
        }
        let target = info.target
        var hasListened = false
        var isListening = false
        var failures = 0
        while !Task.isCancelled {
            do throws(PostgresError) {
                if !isListening {
                    let channel = self.channel
                    let configuration = self.configuration
                    try await thread.run(target: target) { () throws(PostgresError) in
                        try connection.connect(
                            url: configuration.url, connectTimeout: configuration.connectTimeout,
                            applicationName: configuration.applicationName)
                        try connection.listen(channel)
                    }
                    isListening = true
                    failures = 0
                    logger.debug("listening", metadata: ["channel": "\(channel)"])
                    continuation.yield(hasListened ? .reconnected : .listening)
                    hasListened = true
                }
                let events = try await thread.run(target: target) { () throws(PostgresError) in
                    try connection.awaitNotifications(timeoutMilliseconds: 250)
                }
                for event in events { continuation.yield(event) }
            } catch {
                guard error.isRetryable else {
                    continuation.finish(throwing: error)
                    return
                }
                isListening = false
                failures += 1
                logger.warning("LISTEN connection failed, reconnecting: \(error)", metadata: ["channel": "\(channel)"])
                do {
                    try await clock.sleep(configuration.reconnectBackoff.delay(attempt: failures))
                } catch {
                    break  // cancelled
                }
            }
        }
        continuation.finish()
    }
}

extension PostgresPool {
    /// A stream of NOTIFYs on `channel`, on its own dedicated connection (not taken from the
    /// pool). After a reconnect it re-LISTENs and yields `.reconnected`; consumers must re-read
    /// then, because notifications sent while disconnected are lost. Ends when the consumer
    /// stops iterating, on `shutdown()`, or with a non-retryable error (e.g. a bad URL).
    public func notifications(channel: String) -> AsyncThrowingStream<PostgresNotification, any Error> {
        let (stream, continuation) = AsyncThrowingStream.makeStream(of: PostgresNotification.self)
        let info: ConnInfo
        do {
            info = try connInfo.get()
        } catch {
            continuation.finish(throwing: error)
            return stream
        }
        let listener = PostgresListener(
            channel: channel, configuration: configuration, info: info, clock: clock, logger: logger)
        let task: Task<Void, Never>? = state.withLock { state in
            guard !state.machine.isShutdown else { return nil }
            let id = state.nextListenerID
            state.nextListenerID += 1
            let task = Task {
                await listener.run(continuation)
                _ = self.state.withLock { $0.listeners.removeValue(forKey: id) }
            }
            state.listeners[id] = task
            return task
        }
        guard let task else {
            continuation.finish(throwing: PostgresError(code: .poolShutdown, target: target))
            return stream
        }
        continuation.onTermination = { _ in task.cancel() }
        return stream
    }
}
