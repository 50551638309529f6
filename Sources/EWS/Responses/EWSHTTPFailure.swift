import Foundation

/// An HTTP-level outcome that is not a SOAP response (fact sheet §7.1 item 3), as a typed value
/// the action table can classify. Transport failures (reset, dead-man timeout) are included so
/// the Fleet maps every way a call can fail through the same table.
public struct EWSHTTPFailure: Error, Hashable, Sendable, Codable {
    public enum Kind: String, Hashable, Sendable, Codable {
        /// 401: token expired or credentials wrong.
        case unauthorized
        /// 403: EWS blocked for tenant/app/licence.
        case forbidden
        /// 503 (IIS queueing / transient); `retryAfterSeconds` when the server said so.
        case serviceUnavailable
        /// 302 to `/ews/genericerrorpage.htm` (transient outage).
        case genericErrorPageRedirect
        /// Another redirect (Autodiscover or misconfiguration).
        case redirect
        /// 5xx (other than 503) whose body held no SOAP envelope.
        case serverError
        /// Any other unexpected status.
        case unexpectedStatus
        /// Connection reset / closed before a complete response.
        case connectionReset
        /// No bytes for too long (streaming dead-man timer) or request timeout.
        case timedOut
    }

    public var kind: Kind
    public var status: Int?
    public var retryAfterSeconds: Int?
    public var location: String?

    public init(kind: Kind, status: Int? = nil, retryAfterSeconds: Int? = nil, location: String? = nil) {
        self.kind = kind
        self.status = status
        self.retryAfterSeconds = retryAfterSeconds
        self.location = location
    }

    /// Classifies an HTTP status. Returns nil for 200 and for 500 responses that carry a SOAP body
    /// (those are decoded: EWS sends faults, and sometimes normal messages, with 500).
    public static func classify(status: Int, headers: [String: String] = [:], bodyHasEnvelope: Bool = false)
        -> EWSHTTPFailure?
    {
        func header(_ name: String) -> String? {
            headers.first { $0.key.lowercased() == name }?.value
        }
        switch status {
        case 200..<300: return nil
        case 500 where bodyHasEnvelope: return nil
        case 401: return EWSHTTPFailure(kind: .unauthorized, status: status)
        case 403: return EWSHTTPFailure(kind: .forbidden, status: status)
        case 503:
            let retry = header("retry-after").flatMap { Int($0.trimmingCharacters(in: .whitespaces)) }
            return EWSHTTPFailure(kind: .serviceUnavailable, status: status, retryAfterSeconds: retry)
        case 300..<400:
            let location = header("location")
            let generic = location?.lowercased().contains("genericerrorpage") ?? false
            return EWSHTTPFailure(kind: generic ? .genericErrorPageRedirect : .redirect, status: status, location: location)
        case 500..<600: return EWSHTTPFailure(kind: .serverError, status: status)
        default: return EWSHTTPFailure(kind: .unexpectedStatus, status: status)
        }
    }
}
