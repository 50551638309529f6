import EWS
import Foundation
import Store

/// Folder discovery and folder ids for mailbox actors.
extension TenantRuntime {
    /// One query per tenant start: a warm restart resolves no folder id with EWS.
    func loadFolderIDs() async {
        do {
            persistedFolderIDs = try await FolderRepository(pool: pool).folderIDs(tenantID: tenant.id)
        } catch {
            logger.warning("could not load folder ids; notifications mark every folder until resolved",
                           metadata: ["error": "\(error)"])
        }
    }

    func refreshHierarchy(_ mailbox: Mailbox) async throws -> FolderDirectory {
        let syncer = HierarchySyncer(service: ews, store: FolderRepository(pool: pool))
        return try await writer.fenced("hierarchy") { try await blockedAware { try await syncer.refresh(target(mailbox)) } }
    }

    func resolveFolderIDs(_ mailbox: Mailbox, folders: [String]) async throws -> [String: String] {
        let byName = try await blockedAware { try await ews.folderIDs(mailbox: mailbox.smtpAddress, distinguished: folders) }
        try await writer.saveFolderIDs(mailboxID: mailbox.id, byName)
        return Dictionary(byName.map { ($0.value, $0.key) }, uniquingKeysWith: { first, _ in first })
    }

    func dropFolder(_ mailbox: Mailbox, folder: String) async throws {
        try await writer.dropFolder(mailbox, folder: folder)
    }

    func target(_ mailbox: Mailbox) -> FolderSyncer.Target {
        FolderSyncer.Target(tenant: tenant.name, mailboxID: mailbox.id, mailbox: mailbox.smtpAddress, lease: lease,
                            startsNow: mailbox.start == .now, filter: mailbox.filter)
    }
}
