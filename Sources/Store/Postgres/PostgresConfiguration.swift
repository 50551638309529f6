public import Support
/// How to reach PostgreSQL and how the pool behaves.
public struct PostgresConfiguration: Sendable {
    /// A `postgres://` or `postgresql://` URL, or a libpq `key=value` conninfo string.
    public var url: String
    /// Maximum number of pooled connections (opened lazily). `LISTEN` streams use their own
    /// connections on top of this.
    public var poolSize: Int
    /// Upper bound for opening one connection (libpq `connect_timeout`, whole seconds, at least 2).
    public var connectTimeout: Duration
    /// Pace of reconnect attempts after a failed connect.
    public var reconnectBackoff: Backoff
    /// `application_name` reported to the server unless the URL names one.
    public var applicationName: String

    public init(url: String, poolSize: Int = 4) {
        self.url = url
        self.poolSize = max(1, poolSize)
        self.connectTimeout = .seconds(5)
        self.reconnectBackoff = Backoff(initial: .milliseconds(100), maximum: .seconds(5))
        self.applicationName = "ewsfleet"
    }

    /// "host:port/dbname" for errors and logs. Never contains the password.
    public var target: String {
        (try? ConnInfo.parse(url))?.target ?? "<unparseable database URL>"
    }
}
