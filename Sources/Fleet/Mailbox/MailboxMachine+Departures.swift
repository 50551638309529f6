/// Deleted events without a sync, as Microsoft's synchronization guidance allows: "for a Deleted
/// event, when the subscription was active before the previous sync, the item can be deleted
/// locally at once". Active before the previous sync means here: that folder's last completed sync
/// started while this subscription's stream was up, so every event since reached us in order, and
/// the mirror is at least as new as that sync. Any stream failure, resubscribe or failed sync
/// forgets it until the folder's next sync on a live stream.
///
/// The folder is still marked dirty: its sync follows after the coalescing window, as for any
/// event, and reports the same delete, which then records nothing (only what leaves the mirror
/// becomes a `deleted` row). What is saved is the latency of the delete: the coalescing window
/// and one SyncFolderItems. Servers that send folder-level events only (gromox, on a
/// subscription to named folders) name no item, so nothing is applied early for them.
extension MailboxMachine {
    func localDeletes(_ activity: FolderActivity) -> [MailboxAction<Instant>] {
        guard config.deleteOnNotification, phase == .running, link == .up, !polling, !activity.departures.isEmpty else {
            return []
        }
        var byFolder: [String: [String]] = [:]
        var order: [String] = []
        for departure in activity.departures {
            guard let folder = tracker.key(forID: departure.folderID), listening.contains(folder) else { continue }
            if byFolder[folder] == nil { order.append(folder) }
            byFolder[folder, default: []].append(departure.itemID)
        }
        return order.map { .deleteLocally(folder: $0, items: byFolder[$0]!) }
    }
}
