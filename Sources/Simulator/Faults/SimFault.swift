/// One injected fault: what goes wrong, for whom, and how often. Built by library callers or from
/// the JSON of `POST /_sim/faults` (see `SimFault.init(json:)`).
public struct SimFault: Sendable, Equatable {
    public enum Kind: String, Sendable, CaseIterable {
        /// Applied once at injection (or at random with `rate`): end matching streams.
        case dropStreams = "drop_streams"
        /// Applied once: matching streams stop writing any byte (heartbeats and Closed included).
        case stallStreams = "stall_streams"
        /// Applied once: matching subscriptions vanish (mailbox-server failover); the next
        /// GetStreamingEvents answers `code` for each id.
        case expireSubscriptions = "expire_subscriptions"
        /// Applied once: the next SyncFolderItems with a SyncState on each matching mailbox fails
        /// with ErrorInvalidSyncStateData.
        case invalidateSyncStates = "invalidate_sync_states"
        /// Every matching EWS request answers ErrorServerBusy for `seconds` (injected clock).
        case throttle
        /// A `fraction` of matching EWS requests answer HTTP 500 (no SOAP body).
        case http500 = "http_500"
        /// A `fraction` of matching EWS requests answer HTTP 503 (with `Retry-After` if set).
        case http503 = "http_503"
        /// A `fraction` of matching EWS requests answer 200 with a truncated, malformed body.
        case malformedXML = "malformed_xml"
        /// Matching EWS responses are delayed by `seconds` on the injected clock.
        case slow
        /// The `page`-th SyncFolderItems of a matching mailbox (counted from injection) is held
        /// until released.
        case holdSyncPage = "hold_sync_page"
        /// Every EWS and Autodiscover request of the tenant answers HTTP 403.
        case blockTenant = "block_tenant"
        /// Matching streams end in the `streamEnd` form: the open ones at injection, and every
        /// new one right after it opens, until cleared. Subscriptions stay valid.
        case endStreams = "end_streams"
        /// Every id of every matching GetStreamingEvents is refused with `code` (error envelope,
        /// then Closed), although the subscriptions exist and Subscribe keeps handing out ids.
        case refuseSubscriptions = "refuse_subscriptions"

        /// Kinds that act once on the world rather than on each request.
        public var isOneShot: Bool {
            switch self {
            case .dropStreams, .stallStreams, .expireSubscriptions, .invalidateSyncStates: true
            default: false
            }
        }
    }

    public enum Scope: Sendable, Equatable, CustomStringConvertible {
        case all
        /// A tenant by name (`tenant1`).
        case tenant(String)
        /// An identity key as the stats show it (`svc:tenant1`, `user:user1@tenant1.example`, `app:<client id>`).
        case identity(String)
        /// A mailbox by SMTP address (the request's target mailbox).
        case mailbox(String)

        public var description: String {
            switch self {
            case .all: "all"
            case .tenant(let name): "tenant:\(name)"
            case .identity(let key): "identity:\(key)"
            case .mailbox(let smtp): "mailbox:\(smtp)"
            }
        }
    }

    /// How an `end_streams` fault ends a stream. None of them is an error.
    public enum StreamEnd: Sendable, Equatable {
        /// An OK heartbeat, then the chunked body ends without ConnectionStatus Closed.
        case ok
        /// ConnectionStatus Closed at once, then the end of the body.
        case closed
        /// `count` Success messages with empty Notifications and ErrorSubscriptionIds (and
        /// ConnectionStatus OK), as gromox writes them, then the end; `thenClosed` sends Closed
        /// before the end.
        case emptyLists(count: Int, thenClosed: Bool)

        var name: String {
            switch self {
            case .ok: "ok"
            case .closed: "closed"
            case .emptyLists: "empty_lists"
            }
        }
    }

    /// How ErrorServerBusy is written by the `throttle` fault.
    public enum Form: String, Sendable {
        /// SOAP fault, HTTP 500.
        case fault
        /// A ResponseClass="Error" response message, HTTP 200.
        case message
    }

    public var kind: Kind
    public var scope: Scope
    /// Share of matching requests hit (http_500, http_503, malformed_xml, slow); seeded randomness.
    public var fraction: Double = 1
    /// throttle: duration; slow: delay.
    public var seconds: Double = 60
    /// drop_streams: write a final ConnectionStatus Closed before ending (else the socket just closes).
    public var withClosed: Bool = true
    /// http_503: the Retry-After header value in seconds; nil sends none.
    public var retryAfter: Int?
    /// throttle: fault or response-message form.
    public var form: Form = .fault
    /// expire_subscriptions: ErrorSubscriptionNotFound or ErrorInvalidSubscription;
    /// refuse_subscriptions: any Error… code (default ErrorInvalidSubscription).
    public var code: String
    /// end_streams: how the streams end.
    public var streamEnd: StreamEnd = .ok
    /// hold_sync_page: which page (1 = the next SyncFolderItems).
    public var page: Int = 1
    /// One-shot kinds: instead of acting once now, act on one random matching target at this mean
    /// rate per second (exponential gaps on the injected clock), until cleared. throttle: start a
    /// throttle window of `seconds` at this rate instead of at once.
    public var rate: Double?

    public init(_ kind: Kind, scope: Scope = .all) {
        self.kind = kind
        self.scope = scope
        self.code = kind == .refuseSubscriptions ? "ErrorInvalidSubscription" : "ErrorSubscriptionNotFound"
    }
}

extension SimFault {
    /// `{"kind": "throttle", "tenant": "tenant1" | "identity": "svc:tenant1" | "mailbox": "…",
    /// "seconds": 30, "form": "message", "fraction": 0.5, "retry_after": 10, "with_closed": false,
    /// "code": "ErrorInvalidSubscription", "page": 2, "rate": 0.1}`; end_streams takes
    /// `"form": "ok" | "closed" | "empty_lists"`, `"count": 2` and `"then": "closed"`.
    init(json: [String: Any]) throws(SimError) {
        guard let name = json["kind"] as? String, let kind = Kind(rawValue: name) else {
            let kinds = Kind.allCases.map(\.rawValue).joined(separator: ", ")
            throw SimError(.invalidArgument, "kind required, one of: \(kinds)")
        }
        var scope = Scope.all
        if let tenant = json["tenant"] as? String { scope = .tenant(tenant) }
        if let identity = json["identity"] as? String { scope = .identity(identity) }
        if let mailbox = json["mailbox"] as? String { scope = .mailbox(mailbox.lowercased()) }
        self.init(kind, scope: scope)
        func number(_ key: String) -> Double? { (json[key] as? Double) ?? (json[key] as? Int).map(Double.init) }
        if let value = number("fraction") { fraction = value }
        if let value = number("seconds") { seconds = value }
        if let value = json["with_closed"] as? Bool { withClosed = value }
        if let value = json["retry_after"] as? Int { retryAfter = value }
        if kind == .endStreams {
            streamEnd = try Self.streamEnd(json)
        } else if let value = json["form"] as? String {
            guard let parsed = Form(rawValue: value) else { throw SimError(.invalidArgument, "form is fault or message") }
            form = parsed
        }
        if let value = json["code"] as? String {
            if kind == .refuseSubscriptions {
                guard value.hasPrefix("Error"), value.count > 5, value.allSatisfy({ $0.isLetter }) else {
                    throw SimError(.invalidArgument, "code is an EWS error code such as ErrorInvalidSubscription")
                }
            } else if value != "ErrorSubscriptionNotFound" && value != "ErrorInvalidSubscription" {
                throw SimError(.invalidArgument, "code is ErrorSubscriptionNotFound or ErrorInvalidSubscription")
            }
            code = value
        }
        if let value = json["page"] as? Int { page = value }
        rate = number("rate")
        guard (0...1).contains(fraction), seconds >= 0, page >= 1 else {
            throw SimError(.invalidArgument, "fraction must be 0...1, seconds ≥ 0, page ≥ 1")
        }
        if rate != nil && !kind.isOneShot && kind != .throttle {
            throw SimError(.invalidArgument, "rate applies to one-shot kinds and throttle; use fraction")
        }
        if kind == .blockTenant, case .tenant = scope {} else if kind == .blockTenant {
            throw SimError(.invalidArgument, "block_tenant needs a tenant")
        }
    }

    private static func streamEnd(_ json: [String: Any]) throws(SimError) -> StreamEnd {
        let then = json["then"] as? String
        guard then == nil || then == "closed" else { throw SimError(.invalidArgument, "then is closed") }
        switch json["form"] as? String ?? "ok" {
        case "ok" where then == nil: return .ok
        case "closed" where then == nil: return .closed
        case "empty_lists":
            let count = json["count"] as? Int ?? 1
            guard (1...100).contains(count) else { throw SimError(.invalidArgument, "count must be 1...100") }
            return .emptyLists(count: count, thenClosed: then == "closed")
        default:
            throw SimError(.invalidArgument, "form is ok, closed or empty_lists (then: closed only with empty_lists)")
        }
    }

    var json: [String: Any] {
        var object: [String: Any] = ["kind": kind.rawValue, "scope": scope.description, "fraction": fraction,
                                     "seconds": seconds, "with_closed": withClosed, "form": form.rawValue,
                                     "code": code, "page": page]
        if kind == .endStreams {
            object["form"] = streamEnd.name
            if case .emptyLists(let count, let thenClosed) = streamEnd {
                object["count"] = count
                if thenClosed { object["then"] = "closed" }
            }
        }
        if let retryAfter { object["retry_after"] = retryAfter }
        if let rate { object["rate"] = rate }
        return object
    }
}
