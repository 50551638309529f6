import ArgumentParser
import Store

struct MailboxIgnoreCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ignore", abstract: "Skip items in a mailbox's syncs (SyncFolderItems' Ignore), or stop skipping them.",
        discussion: "For a reply-all storm: changes to ignored items are not recorded while they are listed (by design); "
            + "a sync from scratch does not take them for deleted. At most \(MailboxRepository.ignoreLimit) per mailbox. "
            + "Without item ids, --list prints the list.")

    @OptionGroup var target: MailboxTarget
    @Argument(help: "EWS item ids (as in changes.item_id).") var itemIDs: [String] = []
    @Flag(help: "Remove the ids from the list instead.") var remove = false
    @Flag(help: "Print the mailbox's ignore list.") var list = false
    @Option(help: "table or json (with --list)") var format: OutputFormat = .table

    func validate() throws {
        if list && (remove || !itemIDs.isEmpty) { throw ValidationError("--list takes no item ids and no --remove") }
        if !list && itemIDs.isEmpty { throw ValidationError("give item ids, or --list") }
    }

    func run() async throws {
        let (tenant, address, ids) = (target.tenant, target.address, itemIDs)
        if list {
            let listed = try await withDatabase(target.global) { _, pool in
                let repository = MailboxRepository(pool: pool)
                return try await repository.ignored(mailboxID: try await repository.require(tenant: tenant, smtpAddress: address).id)
            }
            TableOutput(columns: ["item_id"], rows: listed.map { [$0] }).print(format)
            return
        }
        let count = try await withDatabase(target.global) { _, pool in
            remove ? try await MailboxRepository(pool: pool).unignore(tenant: tenant, smtpAddress: address, itemIDs: ids)
                : try await MailboxRepository(pool: pool).ignore(tenant: tenant, smtpAddress: address, itemIDs: ids)
        }
        note(remove ? "no longer ignoring \(count) item(s) of \(address)" : "ignoring \(count) more item(s) of \(address)")
    }
}
