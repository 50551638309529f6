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
    /// expire_subscriptions: ErrorSubscriptionNotFound or ErrorInvalidSubscription.
    public var code: String = "ErrorSubscriptionNotFound"
    /// hold_sync_page: which page (1 = the next SyncFolderItems).
    public var page: Int = 1
    /// One-shot kinds: instead of acting once now, act on one random matching target at this mean
    /// rate per second (exponential gaps on the injected clock), until cleared. throttle: start a
    /// throttle window of `seconds` at this rate instead of at once.
    public var rate: Double?

    public init(_ kind: Kind, scope: Scope = .all) {
        self.kind = kind
        self.scope = scope
    }
}

extension SimFault {
    /// `{"kind": "throttle", "tenant": "tenant1" | "identity": "svc:tenant1" | "mailbox": "…",
    /// "seconds": 30, "form": "message", "fraction": 0.5, "retry_after": 10, "with_closed": false,
    /// "code": "ErrorInvalidSubscription", "page": 2, "rate": 0.1}`.
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
        if let value = json["form"] as? String {
            guard let parsed = Form(rawValue: value) else { throw SimError(.invalidArgument, "form is fault or message") }
            form = parsed
        }
        if let value = json["code"] as? String {
            guard value == "ErrorSubscriptionNotFound" || value == "ErrorInvalidSubscription" else {
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

    var json: [String: Any] {
        var object: [String: Any] = ["kind": kind.rawValue, "scope": scope.description, "fraction": fraction,
                                     "seconds": seconds, "with_closed": withClosed, "form": form.rawValue,
                                     "code": code, "page": page]
        if let retryAfter { object["retry_after"] = retryAfter }
        if let rate { object["rate"] = rate }
        return object
    }
}
