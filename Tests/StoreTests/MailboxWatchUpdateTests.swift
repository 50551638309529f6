@testable import Store
import Testing

/// How `mailbox update` turns the watched folders into new ones, and what it refuses.
struct MailboxWatchUpdateTests {
    func watch(_ current: WatchMode, impersonation: Bool = true, _ change: (inout MailboxUpdate) -> Void) throws -> WatchMode {
        var update = MailboxUpdate()
        change(&update)
        return try MailboxRepository.watch(after: update, from: current, impersonation: impersonation, tenant: "contoso")
    }

    func refusal(_ current: WatchMode, impersonation: Bool = true, _ change: (inout MailboxUpdate) -> Void) -> String? {
        do {
            _ = try watch(current, impersonation: impersonation, change)
            return nil
        } catch {
            return "\(error)"
        }
    }

    @Test func foldersAreAddedAndRemovedInOrder() throws {
        #expect(try watch(.default) { $0.addFolders = ["sentitems", "drafts"] } == .folders(["inbox", "sentitems", "drafts"]))
        #expect(try watch(.folders(["inbox", "sentitems"])) { $0.removeFolders = ["inbox"] } == .folders(["sentitems"]))
        #expect(try watch(.folders(["inbox"])) { $0.removeFolders = ["inbox"]; $0.addFolders = ["drafts"] } == .folders(["drafts"]))
        #expect(try watch(.default) { $0.syncMode = .value(.syncOnly) } == .default, "a mode change keeps the folders")
    }

    @Test func switchingBetweenAllFoldersAndAList() throws {
        #expect(try watch(.default) { $0.allFolders = true } == .allFolders)
        #expect(try watch(.allFolders) { $0.allFolders = false } == .default, "back to a list: inbox unless one is named")
        #expect(try watch(.allFolders) { $0.allFolders = false; $0.addFolders = ["sentitems"] } == .folders(["sentitems"]))
    }

    @Test func nonsenseIsRefusedWithAClearMessage() {
        #expect(refusal(.default) { $0.addFolders = ["inbox"] } == "folder inbox is already watched")
        #expect(refusal(.default) { $0.removeFolders = ["drafts"] } == "folder drafts is not watched")
        #expect(refusal(.default) { $0.removeFolders = ["inbox"] } == "a mailbox watches at least one folder: pause or remove it instead")
        #expect(refusal(.allFolders) { $0.addFolders = ["drafts"] }?.contains("watches all folders already") == true)
        #expect(refusal(.allFolders) { $0.removeFolders = ["inbox"] }?.contains("--remove-folder needs a list") == true)
        #expect(refusal(.default, impersonation: false) { $0.allFolders = true }?.contains("needs impersonation") == true)
    }
}
