/// Assigns mailboxes to stream groups: one group per affinity key (ExternalEwsUrl +
/// GroupingInformation from Autodiscover, or the mailbox server named by the Subscribe cookie),
/// split so no group exceeds `capacity` subscriptions (EWS allows 200 per GetStreamingEvents).
/// Assignment is sticky: a mailbox keeps its group until it leaves, so joins never reshuffle others.
///
/// Each group holds one streaming connection. Without impersonation every connection is charged to
/// the identity, whose HangingConnectionLimit caps the groups (`maxGroups`); a mailbox that would
/// need one more group gets none and is polled until a group has room. With impersonation each
/// connection is charged to its own anchor mailbox (fact sheet §8.1), so there is no cap.
struct GroupPlanner: Sendable, Equatable {
    let capacity: Int
    let maxGroups: Int?
    /// mailbox id → group name ("key#index").
    private(set) var assignment: [Int64: String] = [:]
    private var sizes: [String: Int] = [:]

    init(capacity: Int, maxGroups: Int? = nil) {
        self.capacity = max(1, min(capacity, 200))
        self.maxGroups = maxGroups.map { max(1, $0) }
    }

    /// The group for a mailbox with this affinity key; assigns one if needed. Nil when every
    /// group of that key is full and the connection cap allows no new group.
    mutating func group(for mailboxID: Int64, key: String) -> String? {
        if let existing = assignment[mailboxID], existing.hasPrefix(key + "#") { return existing }
        remove(mailboxID)
        var index = 0
        while sizes["\(key)#\(index)", default: 0] >= capacity { index += 1 }
        let name = "\(key)#\(index)"
        if sizes[name] == nil, let maxGroups, sizes.count >= maxGroups { return nil }
        sizes[name, default: 0] += 1
        assignment[mailboxID] = name
        return name
    }

    mutating func remove(_ mailboxID: Int64) {
        guard let name = assignment.removeValue(forKey: mailboxID) else { return }
        sizes[name, default: 1] -= 1
        if sizes[name] == 0 { sizes[name] = nil }
    }

    var groupCount: Int { sizes.count }

    func size(of group: String) -> Int { sizes[group, default: 0] }

    /// The affinity key of a server named by an X-BackEndOverrideCookie value ("server~number").
    static func key(fromCookie cookie: String?) -> String {
        guard let cookie, let server = cookie.split(separator: "~").first, !server.isEmpty else { return "default" }
        return "server:\(server)"
    }
}
