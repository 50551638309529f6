public import Foundation

/// Status line and headers of a response.
public struct HTTPResponseHead: Sendable {
    public var status: Int
    public var headers: [(name: String, value: String)]

    public init(status: Int, headers: [(name: String, value: String)]) {
        self.status = status
        self.headers = headers
    }

    /// First value of a header, compared case-insensitively.
    public func header(_ name: String) -> String? {
        let lower = name.lowercased()
        return headers.first { $0.name.lowercased() == lower }?.value
    }

    /// All values of a header, compared case-insensitively.
    public func headers(named name: String) -> [String] {
        let lower = name.lowercased()
        return headers.filter { $0.name.lowercased() == lower }.map(\.value)
    }
}

/// Where the time of a call went, from libcurl's counters (all measured from the start).
public struct HTTPTiming: Sendable, Hashable {
    public var nameLookup: Duration = .zero
    public var connect: Duration = .zero
    public var tlsHandshake: Duration = .zero
    public var firstByte: Duration = .zero
    public var total: Duration = .zero
    public init() {}
}

/// A complete response of a normal request.
public struct HTTPResponse: Sendable {
    public var head: HTTPResponseHead
    public var body: Data
    public var timing: HTTPTiming
    /// When the loop thread had the whole response, before any task resumed: what a caller that
    /// must act on the response promptly (an advised back-off) measures its delay from.
    public var receivedAt: ContinuousClock.Instant

    public var status: Int { head.status }
    public var headers: [(name: String, value: String)] { head.headers }

    public init(head: HTTPResponseHead, body: Data, timing: HTTPTiming, receivedAt: ContinuousClock.Instant = .now) {
        self.head = head
        self.body = body
        self.timing = timing
        self.receivedAt = receivedAt
    }

    /// Throws `.httpStatus` unless the status is 2xx. EWS puts SOAP faults in 500 responses, so
    /// the EWS layer usually reads the body first and does not call this.
    public func requireSuccess() throws(HTTPError) {
        guard (200..<300).contains(status) else {
            throw HTTPError(code: .httpStatus, message: "HTTP status \(status)", status: status)
        }
    }
}
