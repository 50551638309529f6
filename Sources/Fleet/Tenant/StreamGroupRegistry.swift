import Store

/// A tenant's stream groups and who is in which: the planner's sticky assignment by affinity key,
/// the server each group reaches, and the key of each mailbox that found no group (the identity's
/// connection cap), for its next try. Bookkeeping only: the runtime makes, starts and closes the
/// groups it is told about.
struct StreamGroupRegistry<C: Clock<Duration>> where C.Instant: Sendable {
    /// How mailboxes share streaming connections (the tenant row's, or what the server forced).
    private(set) var grouping: StreamGrouping
    private var planner: GroupPlanner
    private(set) var groups: [String: StreamGroup<C>] = [:]
    /// Group name → the affinity key (server) it was made for.
    private var servers: [String: String] = [:]
    private var ungroupedKeys: [Int64: String] = [:]

    init(grouping: StreamGrouping, planner: GroupPlanner) {
        self.grouping = grouping
        self.planner = planner
    }

    enum Placement {
        case existing(StreamGroup<C>)
        /// The runtime makes a group of this name and `add`s it.
        case new(name: String)
        /// No group can be opened (the connection cap): the key is kept for the mailbox's next try.
        case none
    }

    /// Places a mailbox in the group for its affinity key. With per-mailbox grouping every mailbox
    /// is a group of its own.
    mutating func place(_ mailbox: Mailbox, key server: String) -> Placement {
        let key = grouping == .perMailbox ? "mailbox:\(mailbox.smtpAddress)" : server
        guard let name = planner.group(for: mailbox.id, key: key) else {
            ungroupedKeys[mailbox.id] = server
            return .none
        }
        ungroupedKeys[mailbox.id] = nil
        if let existing = groups[name] { return .existing(existing) }
        servers[name] = server
        return .new(name: name)
    }

    mutating func add(_ group: StreamGroup<C>) { groups[group.key] = group }

    func name(of mailboxID: Int64) -> String? { planner.assignment[mailboxID] }

    func group(of mailboxID: Int64) -> StreamGroup<C>? { name(of: mailboxID).flatMap { groups[$0] } }

    /// The affinity key a mailbox without a group should try again with.
    func ungroupedKey(of mailboxID: Int64) -> String? { ungroupedKeys[mailboxID] }

    /// The server a group's connections reach: its affinity key. With per-mailbox grouping every
    /// mailbox has a group of its own, yet they share the server whose restart they all see.
    func server(ofGroup name: String) -> String {
        servers[name] ?? String(name[..<(name.lastIndex(of: "#") ?? name.endIndex)])
    }

    /// A mailbox leaves. Returns its group when that is left empty: the runtime closes it, which
    /// frees a streaming connection of the identity for another group.
    mutating func remove(_ mailboxID: Int64) -> StreamGroup<C>? {
        ungroupedKeys[mailboxID] = nil
        guard let name = planner.assignment[mailboxID] else { return nil }
        planner.remove(mailboxID)
        guard planner.size(of: name) == 0 else { return nil }
        servers[name] = nil
        return groups.removeValue(forKey: name)
    }

    /// Switches the grouping rule: every mailbox leaves its group. Returns the groups to close.
    mutating func regroup(_ mode: StreamGrouping) -> [StreamGroup<C>] {
        grouping = mode
        for id in Array(planner.assignment.keys) { planner.remove(id) }
        defer {
            groups = [:]
            servers = [:]
            ungroupedKeys = [:]
        }
        return Array(groups.values)
    }
}
