import Foundation
import Store

extension MailboxMachine.Config {
    /// A mailbox actor's configuration: what the mailbox row watches and how, under the fleet's
    /// settings. `knownFolderIDs`: EWS folder ids persisted for the mailbox (EWS id → folder key).
    init(for mailbox: Mailbox, in tenant: Tenant, settings: FleetSettings, knownFolderIDs: [String: String]) {
        // All-folders mode discovers its folders with SyncFolderHierarchy (see HierarchySyncer).
        let folders: [String] =
            switch mailbox.watch {
            case .folders(let list): list
            case .allFolders: []
            }
        self.init(
            folders: folders, coalescingWindow: settings.coalescingWindow,
            safetySyncInterval: settings.safetySyncInterval, pollInterval: settings.pollInterval,
            backoff: RetryBackoff(initial: settings.backoffInitial, maximum: settings.backoffMax,
                                  seed: UInt64(bitPattern: mailbox.id) &* 0x9E37_79B9),
            allFolders: mailbox.watch == .allFolders,
            // Ids of folders no longer watched (kept after `mailbox update`) must not map events.
            knownFolderIDs: knownFolderIDs.filter { mailbox.watch == .allFolders || folders.contains($0.value) })
        maxResubscribes = settings.maxResubscribes
        deleteOnNotification = settings.deleteOnNotification
        if folders.contains(FolderSyncer.calendarFolder) {
            windowMoves = { .seconds(CalendarWindowSetting.secondsUntilItMoves(from: Date())) }
        }
        if mailbox.effectiveMode(in: tenant) == .syncOnly {
            let interval = Duration.seconds(mailbox.effectivePollInterval(in: tenant))
            syncOnly = true
            pollInterval = interval
            scheduleOffset = SyncSchedule.offset(mailboxID: mailbox.id, interval: interval)
        }
    }
}
