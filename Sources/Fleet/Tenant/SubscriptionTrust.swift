/// Which subscription ids of one tenant identity can be trusted, and what the server's refusals
/// say about the server; part of `TenantRuntime`, pure and without I/O.
///
/// A server that restarts (or fails over) forgets its subscriptions. Exchange then refuses the
/// old ids; gromox hands the same small numbers out again, so a stored id may now name another
/// subscription of the same user and be *accepted*, and the mailbox hears somebody else's folder.
/// So an id is never trusted just because the server took it:
/// - when at least half of the established ids held for one server are refused within a minute,
///   that server lost its subscriptions: every established id held for it is suspect, accepted or
///   not (without impersonation all subscriptions belong to the service account, so our own first
///   resubscribes get exactly the ids other mailboxes still hold);
/// - a Subscribe that returns an id another mailbox holds proves that mailbox's id stale;
/// - events naming folders a mailbox does not watch count as a refusal of its id;
/// - a server that refused connections (nothing listened) and then answers again has restarted.
/// Suspect ids are replaced, never unsubscribed (that could end another mailbox's subscription).
///
/// It also notices a server that binds a subscription to the impersonated user (gromox): on a
/// grouped connection the anchor's id is accepted and the other members' fresh ids are refused.
struct SubscriptionTrust<Instant: InstantProtocol<Duration>>: Sendable where Instant: Sendable {
    struct Record: Sendable, Equatable {
        var id: String
        /// The affinity key of the server it was sent to (its stream group's key), once known.
        var server: String?
        /// Accepted by the server before: stored before this process started, or it lived on a
        /// healthy connection. A refused established id means the server forgot it.
        var established: Bool
    }

    /// A verdict: these mailboxes' ids are suspect and must be replaced.
    struct Suspects: Sendable, Equatable {
        var server: String?
        var mailboxIDs: [Int64]
        var reason: String
    }

    let window: Duration
    /// Grouped connections whose other members' fresh ids were refused, before grouping is given
    /// up for the tenant (one could be a fluke of timing; two is the server's rule).
    let groupingObservationsNeeded: Int
    private(set) var records: [Int64: Record] = [:]
    private var holders: [String: Int64] = [:]
    private var refusedRecently: [String: [String: Instant]] = [:]
    private var unreachableSince: [String: Instant] = [:]
    private(set) var groupingObservations = 0

    init(window: Duration = .seconds(60), groupingObservationsNeeded: Int = 2) {
        self.window = window
        self.groupingObservationsNeeded = groupingObservationsNeeded
    }

    // MARK: what ids exist

    /// A stored id, loaded at start.
    mutating func loaded(mailboxID: Int64, id: String, server: String?) {
        set(mailboxID, Record(id: id, server: server, established: true))
    }

    /// A Subscribe returned `id`. Returns the other mailbox whose stored id it is (proven stale).
    mutating func subscribed(mailboxID: Int64, id: String) -> Suspects? {
        let previous = holders[id].flatMap { $0 == mailboxID ? nil : $0 }
        if let previous { drop(previous) }
        set(mailboxID, Record(id: id, server: records[mailboxID]?.server, established: false))
        return previous.map { Suspects(server: nil, mailboxIDs: [$0], reason: "the server handed its id to another mailbox") }
    }

    mutating func joined(mailboxID: Int64, server: String) { records[mailboxID]?.server = server }

    /// These mailboxes' ids lived on a healthy connection.
    mutating func established(_ mailboxIDs: [Int64]) {
        for id in mailboxIDs { records[id]?.established = true }
    }

    /// The mailbox forgot its subscription (resubscribing, paused, removed).
    mutating func drop(_ mailboxID: Int64) {
        guard let record = records.removeValue(forKey: mailboxID) else { return }
        if holders[record.id] == mailboxID { holders[record.id] = nil }
    }

    // MARK: evidence

    /// A connection to `server` refused these ids (`established` as the group knew them when it
    /// sent them). Returns the mailboxes to replace when the server has lost its subscriptions.
    mutating func refused(_ ids: [(id: String, established: Bool)], server: String, now: Instant) -> Suspects? {
        var window = (refusedRecently[server] ?? [:]).filter { $0.value.duration(to: now) < self.window }
        for (id, established) in ids where established { window[id] = now }
        refusedRecently[server] = window
        return verdict(server: server, now: now)
    }

    /// Events for this mailbox named folders it does not watch: its id is not its subscription.
    mutating func foreignEvents(mailboxID: Int64, now: Instant) -> Suspects? {
        guard let record = records[mailboxID], let server = record.server else { return nil }
        if record.established { refusedRecently[server, default: [:]][record.id] = now }
        return verdict(server: server, now: now)
    }

    /// Nothing listened at `server` (connection refused).
    mutating func unreachable(server: String, now: Instant) {
        if unreachableSince[server] == nil { unreachableSince[server] = now }
    }

    /// `server` answered. If it refused connections before, it restarted: every established id is
    /// suspect, even those it would accept.
    mutating func reachable(server: String) -> Suspects? {
        guard unreachableSince.removeValue(forKey: server) != nil else { return nil }
        return suspectAll(server: server, reason: "the server refused connections, then answered again (a restart)")
    }

    /// A grouped connection's refusals. True when grouping should be given up for the tenant: the
    /// anchor's id was accepted while other members' fresh ids were refused, as often as needed.
    mutating func groupingRefused(sent: [String: StreamGroupMachine<Instant>.Member], refused: [String: String],
                                  anchorID: String?) -> Bool {
        guard sent.count >= 2, let anchorID, sent[anchorID] != nil, refused[anchorID] == nil else { return false }
        let freshOthers = refused.keys.contains { $0 != anchorID && sent[$0]?.established == false }
        guard freshOthers else { return false }
        groupingObservations += 1
        return groupingObservations >= groupingObservationsNeeded
    }

    // MARK: helpers

    private mutating func set(_ mailboxID: Int64, _ record: Record) {
        drop(mailboxID)
        records[mailboxID] = record
        holders[record.id] = mailboxID
    }

    private mutating func verdict(server: String, now: Instant) -> Suspects? {
        let refusedIDs = Set(refusedRecently[server]?.keys.map { $0 } ?? [])
        guard !refusedIDs.isEmpty else { return nil }
        let held = Set(records.values.filter { $0.server == server && $0.established }.map(\.id))
        let considered = held.union(refusedIDs)
        guard refusedIDs.count * 2 >= considered.count else { return nil }
        refusedRecently[server] = nil
        // The refused ones are being replaced already; the accepted ones may name others' now.
        return suspectAll(server: server, except: refusedIDs,
                          reason: "\(refusedIDs.count) of \(considered.count) stored ids refused within a minute (the server lost its subscriptions)")
    }

    private mutating func suspectAll(server: String, except: Set<String> = [], reason: String) -> Suspects? {
        let suspects = records.filter { $0.value.server == server && $0.value.established && !except.contains($0.value.id) }
            .keys.sorted()
        for mailbox in suspects { drop(mailbox) }
        return suspects.isEmpty ? nil : Suspects(server: server, mailboxIDs: suspects, reason: reason)
    }
}
