import EWS
import Store

/// How a mailbox's `--filter` is applied: what an item must be fetched with to be judged, and the
/// EWS restriction that narrows a FindItem to a superset of the scope. EWS restrictions cannot
/// express every filter (a domain suffix, and this client trusts no server's negation to agree
/// with its own case folding), so the restriction only ever drops items the filter would drop
/// too; the filter itself is always evaluated here, on the properties fetched.
enum FilterScope {
    /// What the filter judges beyond the summary (subject and sender are in it).
    static let fields: Set<ItemField> = [.from, .categories, .importance]

    static func subject(of item: EWSItem) -> MailboxFilter.Subject {
        MailboxFilter.Subject(from: item.from?.address ?? item.sender?.address, subject: item.subject,
                              categories: item.categories ?? [], importance: item.importance)
    }

    /// nil: no restriction (every item is a candidate).
    static func restriction(_ filter: MailboxFilter) -> EWSRestriction? { superset(filter.expression) }

    private static func superset(_ e: MailboxFilter.Expression) -> EWSRestriction? {
        switch e {
        case .term(let t):
            switch t.key {
            case .importance: return .isEqualTo(.importance, t.value.prefix(1).uppercased() + t.value.dropFirst())
            case .subjectPrefix: return .startsWith(.subject, t.value)
            case .category: return .containsValue(.categories, t.value)
            case .from, .fromDomain: return nil
            }
        case .and(let a, let b):
            let parts = [superset(a), superset(b)].compactMap { $0 }.flatMap { r -> [EWSRestriction] in
                if case .and(let inner) = r { return inner }
                return [r]
            }
            return parts.isEmpty ? nil : parts.count == 1 ? parts[0] : .and(parts)
        case .or(let a, let b):
            guard let x = superset(a), let y = superset(b) else { return nil }
            return .or([x, y].flatMap { r -> [EWSRestriction] in
                if case .or(let inner) = r { return inner }
                return [r]
            })
        case .not:
            return nil
        }
    }
}
