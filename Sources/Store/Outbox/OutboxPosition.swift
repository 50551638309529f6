/// A reader's position in the `changes` outbox: the (transaction id, row id) of the last row it
/// has processed. Rows are delivered in (txid, id) order, which is commit-safe (see
/// `OutboxFollower`); `id` alone is not.
public struct OutboxPosition: Sendable, Hashable, Codable, Comparable, CustomStringConvertible {
    /// `xid8` of the transaction that inserted the row.
    public var txid: UInt64
    /// The row's `id` (bigserial).
    public var id: Int64

    public init(txid: UInt64, id: Int64) {
        self.txid = txid
        self.id = id
    }

    /// Before every row.
    public static let start = OutboxPosition(txid: 0, id: 0)

    public static func < (lhs: OutboxPosition, rhs: OutboxPosition) -> Bool {
        (lhs.txid, lhs.id) < (rhs.txid, rhs.id)
    }

    public var description: String { "\(txid)/\(id)" }
}
