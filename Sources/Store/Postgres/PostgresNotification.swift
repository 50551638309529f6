/// One event of a `PostgresPool.notifications(channel:)` stream.
///
/// NOTIFY delivery is best effort (nothing is delivered while the connection is down), so a
/// consumer must treat notifications only as hints and re-read its state on `.listening` and
/// `.reconnected`.
public enum PostgresNotification: Sendable, Hashable {
    /// LISTEN is in effect for the first time: every NOTIFY committed from now on is delivered.
    case listening
    /// The connection was lost and re-established and LISTEN re-issued: notifications may have
    /// been missed meanwhile, so re-read.
    case reconnected
    /// A NOTIFY on the channel.
    case notification(channel: String, payload: String, pid: Int32)
}
