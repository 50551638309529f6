internal import CLibPQ
import Foundation
import Logging
import Synchronization
import Support

/// One libpq connection (`PGconn`). Thread-confined: every method blocks and must only be
/// called on the owning `WorkerThread`; async code reaches it through `ConnectionSlot`.
final class LibPQConnection: @unchecked Sendable {
    // @unchecked Sendable: `handle` and `noticeSink` are only touched by jobs of the one
    // WorkerThread that owns this object (jobs run strictly one after another); `canceller` is
    // the only state used from other threads and sits behind its own lock.
    private var handle: OpaquePointer?
    private var noticeSink: Unmanaged<NoticeSink>?
    /// The one piece of state used from other threads: libpq's cancel object is made for that.
    private let canceller = Mutex<CancelHandle?>(nil)
    let info: ConnInfo
    let target: String
    let logger: Logger

    init(info: ConnInfo, logger: Logger) {
        self.info = info
        self.target = info.target
        self.logger = logger
    }

    deinit { close() }

    var isOpen: Bool { handle.map { PQstatus($0) == CONNECTION_OK } ?? false }

    // MARK: connect / close

    func connect(url: String, connectTimeout: Duration, applicationName: String) throws(PostgresError) {
        close()
        let timeoutSeconds = max(2, Int(connectTimeout.inSeconds.rounded(.up)))
        // Keywords are processed in order and later ones win, so the URL (expanded from
        // `dbname`) can still override our defaults.
        let keywords = ["connect_timeout", "application_name", "dbname"]
        let values = [String(timeoutSeconds), applicationName, url]
        let connection = withCStringArray(keywords) { keywordPointers in
            withCStringArray(values) { valuePointers in
                PQconnectdbParams(keywordPointers, valuePointers, 1)
            }
        }
        guard let connection else {
            throw PostgresError(code: .connectionFailed, message: "out of memory", target: target)
        }
        guard PQstatus(connection) == CONNECTION_OK else {
            let reason = info.redact(String(cString: PQerrorMessage(connection)))
            PQfinish(connection)
            let timedOut = reason.contains("timeout expired")
            throw PostgresError(
                code: timedOut ? .timeout : .connectionFailed, message: PostgresError.oneLine(reason),
                target: target)
        }
        handle = connection
        let cancelHandle = PQgetCancel(connection).map(CancelHandle.init)
        canceller.withLock { $0 = cancelHandle }
        let sink = Unmanaged.passRetained(NoticeSink(logger: logger, target: target))
        noticeSink = sink
        PQsetNoticeReceiver(connection, noticeReceiver, sink.toOpaque())
        do {
            try execute("SET TimeZone='UTC'; SET DateStyle='ISO'; SET extra_float_digits=3", name: "session setup")
        } catch {
            close()
            throw PostgresError(
                code: .connectionFailed, sqlState: error.sqlState, message: error.message, target: target)
        }
    }

    func close() {
        canceller.withLock { $0 = nil }
        if let handle { PQfinish(handle) }
        handle = nil
        noticeSink?.release()
        noticeSink = nil
    }

    // MARK: statements

    /// `PQexecParams` with text parameters and text results.
    func query(_ sql: String, _ parameters: [String?], name: String) throws(PostgresError) -> PostgresResult {
        let connection = try openHandle(name: name)
        var cParameters: [UnsafeMutablePointer<CChar>?] = parameters.map { $0.flatMap { strdup($0) } }
        defer { for pointer in cParameters { free(pointer) } }
        let result = cParameters.withUnsafeMutableBufferPointer { buffer in
            buffer.baseAddress!.withMemoryRebound(to: UnsafePointer<CChar>?.self, capacity: max(1, buffer.count)) {
                PQexecParams(connection, sql, Int32(parameters.count), nil, parameters.isEmpty ? nil : $0, nil, nil, 0)
            }
        }
        return try consume(result, name: name)
    }

    /// `PQexec`: simple protocol, may contain several statements, no parameters.
    @discardableResult
    func execute(_ sql: String, name: String) throws(PostgresError) -> PostgresResult {
        let connection = try openHandle(name: name)
        return try consume(PQexec(connection, sql), name: name)
    }

    private func openHandle(name: String) throws(PostgresError) -> OpaquePointer {
        guard let handle, PQstatus(handle) == CONNECTION_OK else {
            close()
            throw PostgresError(
                code: .connectionLost, message: "connection is closed", queryName: name, target: target)
        }
        return handle
    }

    // MARK: lease hygiene

    /// Non-blocking check before lending: reads whatever the server sent while the connection
    /// sat idle (a server shutdown sends FATAL 57P01 and closes), so a dead connection is
    /// replaced instead of failing the borrower's first statement.
    func checkHealth() -> Bool {
        guard let handle, PQstatus(handle) == CONNECTION_OK else {
            close()
            return false
        }
        // One read may return only the FATAL message; keep reading while the socket is readable
        // so the EOF that follows is seen too (libpq then reports CONNECTION_BAD).
        for _ in 0..<8 {
            var descriptor = pollfd(fd: PQsocket(handle), events: Int16(POLLIN), revents: 0)
            guard poll(&descriptor, 1, 0) > 0 else { break }
            if PQconsumeInput(handle) == 0 || PQstatus(handle) != CONNECTION_OK
                || descriptor.revents & Int16(POLLHUP | POLLERR | POLLNVAL) != 0
            {
                close()
                return false
            }
            while let notify = PQnotifies(handle) { PQfreemem(notify) }
        }
        return true
    }

    /// Called when a lease ends: an open or failed transaction is rolled back; a connection in
    /// an unknown state is closed. Returns whether the connection is reusable.
    func cleanUpAfterLease() -> Bool {
        guard let handle, PQstatus(handle) == CONNECTION_OK else {
            close()
            return false
        }
        let status = PQtransactionStatus(handle)
        if status == PQTRANS_IDLE { return true }
        if status == PQTRANS_INTRANS || status == PQTRANS_INERROR {
            logger.debug("rolling back transaction left open by a lease", metadata: ["db": "\(target)"])
            if (try? execute("ROLLBACK", name: "lease cleanup")) != nil,
                PQtransactionStatus(handle) == PQTRANS_IDLE
            {
                return true
            }
        }
        close()
        return false
    }

    var transactionIsIdle: Bool { handle.map { PQtransactionStatus($0) == PQTRANS_IDLE } ?? false }

    /// The socket, for `poll` by the LISTEN loop; -1 when closed.
    var socket: Int32 { handle.map { PQsocket($0) } ?? -1 }

    var rawHandle: OpaquePointer? { handle }
}

extension LibPQConnection {
    /// Asks the server to cancel the statement running on this connection (`PQcancel`). Blocks
    /// for a network round trip, so it runs on a global dispatch queue, never on the caller.
    func requestCancel() {
        DispatchQueue.global().async { [self] in
            canceller.withLock { handle in
                guard let handle else { return }
                var buffer = [CChar](repeating: 0, count: 256)
                _ = PQcancel(handle.pointer, &buffer, Int32(buffer.count))
            }
        }
    }
}

/// Owns a `PGcancel`; freed when replaced or dropped.
final class CancelHandle: @unchecked Sendable {
    // @unchecked Sendable: libpq documents PGcancel as safe to use from any thread, and it is
    // only used and released while holding LibPQConnection's `canceller` lock.
    let pointer: OpaquePointer
    init(_ pointer: OpaquePointer) { self.pointer = pointer }
    deinit { PQfreeCancel(pointer) }
}

/// Receives server notices (WARNING, NOTICE) instead of libpq's default print to stderr.
final class NoticeSink {
    let logger: Logger
    let target: String
    init(logger: Logger, target: String) {
        self.logger = logger
        self.target = target
    }
}

private let noticeReceiver: PQnoticeReceiver = { context, result in
    guard let context, let result else { return }
    let sink = Unmanaged<NoticeSink>.fromOpaque(context).takeUnretainedValue()
    let message = PostgresError.oneLine(String(cString: PQresultErrorMessage(result)))
    sink.logger.debug("postgres notice: \(message)", metadata: ["db": "\(sink.target)"])
}

/// Calls `body` with a NULL-terminated C string array that lives for the duration of the call.
func withCStringArray<R>(_ strings: [String], _ body: (UnsafePointer<UnsafePointer<CChar>?>) -> R) -> R {
    let copies: [UnsafeMutablePointer<CChar>?] = strings.map { strdup($0) } + [nil]
    defer { for pointer in copies { free(pointer) } }
    return copies.withUnsafeBufferPointer { buffer in
        buffer.baseAddress!.withMemoryRebound(to: UnsafePointer<CChar>?.self, capacity: buffer.count) { body($0) }
    }
}
