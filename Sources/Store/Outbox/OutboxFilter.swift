/// Restricts which outbox rows a follower returns. Values are sent as query parameters.
public struct OutboxFilter: Sendable, Hashable {
    /// Only rows of this tenant (`changes.tenant`), if set.
    public var tenant: String?
    /// Only rows of this mailbox (`changes.mailbox`, compared lower-cased), if set.
    public var mailbox: String?

    public init(tenant: String? = nil, mailbox: String? = nil) {
        self.tenant = tenant
        self.mailbox = mailbox?.lowercased()
    }

    public static let all = OutboxFilter()

    public static func tenant(_ name: String) -> OutboxFilter { OutboxFilter(tenant: name) }

    public static func mailbox(_ address: String, tenant: String? = nil) -> OutboxFilter {
        OutboxFilter(tenant: tenant, mailbox: address)
    }
}

/// One outbox row with its position.
public struct OutboxRecord: Sendable {
    public var position: OutboxPosition
    /// All columns of the `changes` row (decode e.g. `row.decode("item_id", as: String.self)`).
    public var row: PostgresRow

    public init(position: OutboxPosition, row: PostgresRow) {
        self.position = position
        self.row = row
    }
}
