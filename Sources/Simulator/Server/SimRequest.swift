import NIOHTTP1

/// A fully received HTTP request.
struct SimRequest: Sendable {
    var method: HTTPMethod
    var path: String
    var query: [String: String]
    var headers: HTTPHeaders
    var body: [UInt8]
    /// The connection's NTLM state; nil outside a live connection (NTLM tenants then refuse).
    var connection: NTLMConnection?
    /// When the request head was received (injected clock): whether a request could have known of
    /// an advised back-off depends on when it was sent, not on when its body was parsed. Nil
    /// outside a live connection (then: when it is admitted).
    var arrivedAt: Duration?

    init(head: HTTPRequestHead, body: [UInt8]) {
        method = head.method
        headers = head.headers
        self.body = body
        let uri = head.uri
        if let mark = uri.firstIndex(of: "?") {
            path = String(uri[..<mark])
            query = Self.parseForm(String(uri[uri.index(after: mark)...]))
        } else {
            path = uri
            query = [:]
        }
    }

    /// application/x-www-form-urlencoded (also used for query strings).
    static func parseForm(_ text: String) -> [String: String] {
        var result: [String: String] = [:]
        for pair in text.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1)
            let key = decode(String(parts[0]))
            result[key] = parts.count > 1 ? decode(String(parts[1])) : ""
        }
        return result
    }

    static func decode(_ text: String) -> String {
        text.replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? text
    }
}

/// What the server answers: a complete response, or the start of a GetStreamingEvents stream.
enum SimResponse: Sendable {
    case full(status: HTTPResponseStatus, headers: HTTPHeaders, body: [UInt8])
    case stream(StreamPlan)
    /// Written once `wait` returns (slow and held responses, on the injected clock / a release).
    indirect case deferred(SimResponse, wait: @Sendable () async -> Void)
    /// A back-off advice: `written` runs once its last byte went to the socket, the earliest
    /// moment the client could read it (see `SimWorld+Advice.swift`).
    indirect case advice(SimResponse, written: @Sendable () -> Void)

    static func xml(_ status: HTTPResponseStatus, _ body: String, headers extra: HTTPHeaders = [:]) -> SimResponse {
        var headers: HTTPHeaders = ["Content-Type": "text/xml; charset=utf-8"]
        headers.add(contentsOf: extra)
        return .full(status: status, headers: headers, body: Array(body.utf8))
    }

    static func json(_ status: HTTPResponseStatus, _ body: [UInt8]) -> SimResponse {
        .full(status: status, headers: ["Content-Type": "application/json"], body: body)
    }

    static func text(_ status: HTTPResponseStatus, _ body: String, headers extra: HTTPHeaders = [:]) -> SimResponse {
        var headers: HTTPHeaders = ["Content-Type": "text/plain; charset=utf-8"]
        headers.add(contentsOf: extra)
        return .full(status: status, headers: headers, body: Array(body.utf8))
    }

    func adding(header name: String, value: String) -> SimResponse {
        switch self {
        case .full(let status, var headers, let body):
            headers.add(name: name, value: value)
            return .full(status: status, headers: headers, body: body)
        case .stream(var plan):
            plan.headers.add(name: name, value: value)
            return .stream(plan)
        case .deferred(let inner, let wait):
            return .deferred(inner.adding(header: name, value: value), wait: wait)
        case .advice(let inner, let written):
            return .advice(inner.adding(header: name, value: value), written: written)
        }
    }

    /// gromox's framing: `Content-Type: text/xml` on XML answers, a bare chunked stream.
    func gromoxFramed() -> SimResponse {
        switch self {
        case .full(let status, var headers, let body):
            if headers.first(name: "Content-Type")?.hasPrefix("text/xml") == true {
                headers.replaceOrAdd(name: "Content-Type", value: "text/xml")
            }
            return .full(status: status, headers: headers, body: body)
        case .stream(var plan):
            plan.bareFraming = true
            return .stream(plan)
        case .deferred(let inner, let wait):
            return .deferred(inner.gromoxFramed(), wait: wait)
        case .advice(let inner, let written):
            return .advice(inner.gromoxFramed(), written: written)
        }
    }

    var status: Int {
        switch self {
        case .full(let status, _, _): Int(status.code)
        case .stream: 200
        case .deferred(let inner, _), .advice(let inner, _): inner.status
        }
    }
}

/// Everything needed to open a stream once the HTTP head is written.
struct StreamPlan: Sendable {
    var tenantIndex: Int
    var serverIndex: Int
    /// The ownership key the named subscriptions must carry (`EWSContext.subscriptionOwner`).
    var owner: String
    /// The caller's identity key.
    var identity: String
    /// `EWSContext.chargedBudget`: what the hanging-connection limit counts.
    var budget: String
    var subscriptionIds: [String]
    var timeout: Duration
    var headers: HTTPHeaders
    /// gromox: `Content-Type: text/xml` and chunking only (no X-NoBuffering, no Connection: close).
    var bareFraming = false
}

import Foundation
