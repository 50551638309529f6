/// A streaming subscription. It lives on its mailbox's server and outlives its connections.
final class Subscription {
    /// Subscription ids are unique per tenant only: gromox numbers them per server from 1.
    struct Key: Hashable {
        var tenant: Int
        var id: String
    }

    let id: String
    let mailbox: Mailbox
    /// Who may open it: the creating identity (Exchange) or the effective user, i.e. the
    /// impersonated mailbox when there is one (gromox).
    let owner: String
    /// The identity key that created it (identity-scoped faults match on this).
    let identity: String
    let allFolders: Bool
    let folders: Set<UInt32>
    let eventTypes: Set<SimEvent.Kind>
    /// gromox hands out a subscription without checking the caller's rights on the target
    /// mailbox; such a subscription exists but never sees an event.
    let deaf: Bool
    var connection: StreamConnection?
    var queue: [SimEvent] = []
    var missedEvents = false
    /// Offset after which a detached subscription is gone.
    var expiresAt: Duration

    init(id: String, mailbox: Mailbox, owner: String, identity: String, allFolders: Bool, folders: Set<UInt32>,
         eventTypes: Set<SimEvent.Kind>, deaf: Bool, expiresAt: Duration) {
        self.id = id
        self.mailbox = mailbox
        self.owner = owner
        self.identity = identity
        self.allFolders = allFolders
        self.folders = folders
        self.eventTypes = eventTypes
        self.deaf = deaf
        self.expiresAt = expiresAt
    }

    var key: Key { Key(tenant: mailbox.tenantIndex, id: id) }

    func matches(_ event: SimEvent, dialect: SimDialect) -> Bool {
        guard !deaf, eventTypes.contains(event.kind) else { return false }
        if allFolders { return !event.namedOnly }
        guard event.folderScope.contains(where: { folders.contains($0) }) else { return false }
        // gromox: a subscription to named folders hears what happens to those folders, not to
        // the items in them; reading, moving out or deleting an item shows only as the folder's
        // ModifiedEvent (its UnreadCount), which the same action also publishes.
        if dialect == .gromox, !event.isFolder, Self.folderOnlyInGromox.contains(event.kind) { return false }
        return true
    }

    static let folderOnlyInGromox: Set<SimEvent.Kind> = [.modified, .moved, .deleted, .copied]
}
