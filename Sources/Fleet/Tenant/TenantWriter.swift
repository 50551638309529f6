import Foundation
import Logging
import Store

/// Every write a tenant runtime makes under its lease, besides the sync pipeline's checkpoints
/// (which `fenced` wraps too). When the database refused a write because the lease moved to another
/// holder, nothing of it was written and no retry can succeed: it is counted and logged, the
/// supervisor is told (it stops the runtime), and the error goes back to the caller (a mailbox actor
/// stops on it, see `MailboxActor.stopIfLeaseLost`).
struct TenantWriter: Sendable {
    let pool: PostgresPool
    let lease: LeaseToken
    let tenant: Tenant
    let logger: Logger
    let onLeaseLost: @Sendable (LeaseToken) -> Void

    /// Runs on the caller's actor (`isolation`), so `body` may use the caller's state.
    func fenced<T>(_ write: String, isolation: isolated (any Actor)? = #isolation,
                   _ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as LeaseLostError {
            leaseLost(error, write: write)
            throw error
        }
    }

    func leaseLost(_ error: LeaseLostError, write: String) {
        FleetMetrics.leaseFencedWrites(write)
        logger.notice("write refused: the tenant's lease moved to another holder",
                      metadata: ["write": "\(write)", "epoch": "\(error.epoch)"])
        onLeaseLost(error.lease)
    }

    func saveSubscription(_ record: SubscriptionRepository.SubscriptionRecord) async throws {
        try await fenced("subscription") { try await SubscriptionRepository(pool: pool).saveSubscription(record, lease: lease) }
    }

    func deleteSubscription(mailboxID: Int64) async throws {
        try await fenced("subscription") {
            try await SubscriptionRepository(pool: pool).deleteSubscription(mailboxID: mailboxID, lease: lease)
        }
    }

    func resetSyncState(mailboxID: Int64, folder: String) async throws {
        try await fenced("sync_state_reset") {
            try await SyncStateRepository(pool: pool).resetSyncState(mailboxID: mailboxID, folderID: folder, lease: lease)
        }
    }

    /// Items a DeletedEvent says left the folder: out of the mirror, each with a `deleted` row, the
    /// SyncState kept. Returns the rows inserted (none for items already gone).
    func deleteLocally(_ mailbox: Mailbox, folder: String, items: [String]) async throws -> Int {
        var cp = Checkpoint(lease: lease, tenant: tenant.name, mailboxID: mailbox.id, mailbox: mailbox.smtpAddress,
                            folderID: folder, syncState: "", syncStep: SyncStep.fresh("event"), observedAt: Date())
        cp.keepsSyncState = true
        cp.deletes = items
        cp.changes = items.map { ChangeRecord(folderID: folder, itemID: $0, changeKey: "", kind: .deleted) }
        return try await fenced("checkpoint") { try await CheckpointWriter(pool: pool).commit(cp).changesInserted }
    }

    func saveFolderIDs(mailboxID: Int64, _ byName: [String: String]) async throws {
        try await fenced("folder_ids") {
            try await FolderRepository(pool: pool).saveFolderIDs(mailboxID: mailboxID, byName, lease: lease)
        }
    }

    func dropFolder(_ mailbox: Mailbox, folder: String) async throws {
        var checkpoint = FolderRepository.HierarchyCheckpoint(
            lease: lease, tenant: tenant.name, mailboxID: mailbox.id, mailbox: mailbox.smtpAddress, syncState: nil,
            observedAt: Date())
        checkpoint.drops = [folder]
        _ = try await fenced("folder_drop") { try await FolderRepository(pool: pool).commit(checkpoint) }
    }

    /// Records the grouping the server forced, and why. Returns the row's new `updated_at`.
    func setGrouping(_ mode: StreamGrouping, reason: String) async throws -> Date {
        try await fenced("grouping") {
            try await TenantRepository(pool: pool).setGrouping(name: tenant.name, mode, reason: reason, lease: lease)
        }
    }
}
