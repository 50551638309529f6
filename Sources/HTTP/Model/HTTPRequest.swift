public import Foundation
import Support

/// One HTTP call. EWS calls are `POST` with a SOAP body; the token provider posts a form.
public struct HTTPRequest: Sendable {
    public var method: String
    public var url: String
    /// Extra request headers, e.g. `X-AnchorMailbox`, `X-PreferServerAffinity`, `Content-Type`.
    /// Never put `Authorization` here for an identity with credentials; the client adds it.
    public var headers: [(name: String, value: String)]
    public var body: Data?
    /// Who the call runs as; selects credentials, TLS settings and the connection cache.
    public var identity: HTTPIdentity
    /// Affinity cookies for the connection group this call belongs to (EWS §8.2).
    public var cookies: AffinityCookieStore?
    public var timeouts: HTTPTimeouts

    public init(
        method: String = "POST", url: String, headers: [(name: String, value: String)] = [],
        body: Data? = nil, identity: HTTPIdentity = .anonymous, cookies: AffinityCookieStore? = nil,
        timeouts: HTTPTimeouts = HTTPTimeouts()
    ) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.identity = identity
        self.cookies = cookies
        self.timeouts = timeouts
    }

    /// Adds the EWS affinity headers (`X-AnchorMailbox`, `X-PreferServerAffinity: true`).
    public mutating func setAffinity(anchorMailbox: String, preferServerAffinity: Bool = true) {
        headers.removeAll { $0.name.lowercased() == "x-anchormailbox" || $0.name.lowercased() == "x-preferserveraffinity" }
        headers.append((name: "X-AnchorMailbox", value: anchorMailbox))
        if preferServerAffinity { headers.append((name: "X-PreferServerAffinity", value: "true")) }
    }
}

/// Timeouts; all accept sub-second values.
public struct HTTPTimeouts: Sendable, Hashable {
    /// Time allowed for TCP + TLS connection setup.
    public var connect: Duration
    /// Whole-call limit for normal requests; ignored by streaming requests.
    public var total: Duration
    /// Streaming requests: no byte for this long means the connection is dead. Time spent paused
    /// because our own consumer is slow does not count.
    public var idleRead: Duration

    public init(connect: Duration = .seconds(10), total: Duration = .seconds(120), idleRead: Duration = .seconds(90)) {
        self.connect = connect
        self.total = total
        self.idleRead = idleRead
    }
}

extension Duration {
    /// Whole milliseconds, at least 1 for any positive duration (libcurl treats 0 as "no limit").
    var curlMilliseconds: Int {
        let ms = wholeMilliseconds
        if ms == 0 && self > .zero { return 1 }
        return Int(ms)
    }
}
