/// An error from the PostgreSQL access layer.
///
/// Always names the database by `target` ("host:port/dbname", never the password) and, when a
/// query was involved, by the query's `name`. `description` is one line, suitable for a CLI.
public struct PostgresError: Error, CustomStringConvertible, Sendable {
    public enum Code: String, Sendable, Hashable, CaseIterable {
        /// Could not open a connection (server down, DNS, authentication, bad URL).
        case connectionFailed
        /// The connection broke while (or before) a statement ran; the statement's outcome is
        /// unknown to the server only for COMMIT, otherwise nothing of it was committed.
        case connectionLost
        /// The server rejected a statement; see `sqlState`.
        case server
        /// A column could not be decoded into the requested Swift type.
        case decoding
        /// The pool was shut down.
        case poolShutdown
        /// Opening a connection took longer than `PostgresConfiguration.connectTimeout`.
        case timeout
        /// The connection URL / conninfo string cannot be parsed. Not retryable.
        case invalidConfiguration
        /// The API was misused, e.g. a `PostgresConnection` used after its lease ended.
        case misuse
    }

    public var code: Code
    /// The five-character SQLSTATE when the server (or libpq) reported one.
    public var sqlState: String?
    public var message: String
    public var detail: String?
    public var hint: String?
    public var queryName: String?
    public var target: String

    public init(
        code: Code, sqlState: String? = nil, message: String = "", detail: String? = nil,
        hint: String? = nil, queryName: String? = nil, target: String
    ) {
        self.code = code
        self.sqlState = sqlState
        self.message = message
        self.detail = detail
        self.hint = hint
        self.queryName = queryName
        self.target = target
    }

    /// Whether running the same work again (on a fresh connection) may succeed.
    public var isRetryable: Bool {
        switch code {
        case .connectionFailed, .connectionLost, .timeout:
            return true
        case .server:
            guard let sqlState else { return false }
            return sqlState.hasPrefix("08")  // connection exception
                || sqlState == "40001"  // serialization_failure
                || sqlState == "40P01"  // deadlock_detected
                || sqlState == "57P01"  // admin_shutdown
                || sqlState == "57P02"  // crash_shutdown
                || sqlState == "57P03"  // cannot_connect_now
        case .decoding, .poolShutdown, .invalidConfiguration, .misuse:
            return false
        }
    }

    public var description: String {
        var line = "database \(target): "
        let query = queryName.map { "query '\($0)'" }
        switch code {
        case .connectionFailed: line += "connection failed"
        case .connectionLost: line += "connection lost" + (query.map { " during \($0)" } ?? "")
        case .server: line += (query ?? "statement") + " failed"
        case .decoding: line += (query.map { "\($0): " } ?? "") + "cannot decode result"
        case .poolShutdown: line += "pool is shut down"
        case .timeout: line += "timed out"
        case .invalidConfiguration: line += "invalid connection URL"
        case .misuse: line += (query.map { "\($0): " } ?? "") + "misuse"
        }
        if let sqlState { line += " [\(sqlState)]" }
        if !message.isEmpty { line += ": " + message }
        if let detail, !detail.isEmpty { line += " (detail: \(detail))" }
        return Self.oneLine(line)
    }

    /// libpq messages span several lines ("...failed: Connection refused\n\tIs the server
    /// running..."); a CLI error must be one line.
    static func oneLine(_ text: String) -> String {
        text.split(whereSeparator: \.isNewline)
            .map { $0.trimmingWhitespace() }
            .filter { !$0.isEmpty }
            .joined(separator: "; ")
    }
}

extension Substring {
    func trimmingWhitespace() -> String {
        var slice = self[...]
        while let first = slice.first, first.isWhitespace { slice.removeFirst() }
        while let last = slice.last, last.isWhitespace { slice.removeLast() }
        return String(slice)
    }
}
