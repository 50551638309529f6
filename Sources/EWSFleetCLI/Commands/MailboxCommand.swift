import ArgumentParser
import Store

struct MailboxCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mailbox", abstract: "Manage watched mailboxes.",
        subcommands: [MailboxAddCommand.self, MailboxListCommand.self, MailboxPauseCommand.self,
                      MailboxResumeCommand.self, MailboxRemoveCommand.self, MailboxImportCommand.self,
                      MailboxResyncCommand.self, MailboxUpdateCommand.self, MailboxIgnoreCommand.self])
}

struct MailboxAddCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "add", abstract: "Watch a mailbox.")

    @OptionGroup var global: GlobalOptions
    @Argument(help: "Tenant name.") var tenant: String
    @Argument(help: "Primary SMTP address.") var address: String
    @Option(name: .customLong("folder"), help: "A folder to watch: a distinguished name (inbox), a folder id, or search:NAME for a search folder by display name or id (repeatable; default inbox).") var folders: [String] = []
    @Flag(name: .customLong("all-folders"), help: "Watch every folder.") var allFolders = false
    @Option(help: "notify or sync-only; default: the tenant's mode.") var mode: ModeOption?
    @Option(name: .customLong("poll-interval"), help: ArgumentHelp(PollInterval.help + " Default: the tenant's."))
    var pollInterval: PollInterval?
    @Option(help: ArgumentHelp(StartOption.help)) var start: StartOption = .backfill
    @Option(help: FilterOption.help) var filter: String?

    func validate() throws {
        if allFolders && !folders.isEmpty { throw ValidationError("give --folder or --all-folders, not both") }
        _ = try FilterOption.parse(filter)
    }

    func run() async throws {
        let watch: WatchMode = allFolders ? .allFolders : folders.isEmpty ? .default : .folders(folders)
        let mailbox = try await withDatabase(global) { _, pool in
            do {
                return try await MailboxRepository(pool: pool).add(tenant: tenant, smtpAddress: address, watch: watch,
                                                                   syncMode: mode?.mode, pollIntervalSeconds: pollInterval?.seconds,
                                                                   start: start.mode, filter: try FilterOption.parse(filter))
            } catch let error as StoreError where error.code == .duplicate {
                // One row per mailbox: a second `add` is not how another folder is watched.
                throw StoreError(.duplicate, error.message + "; to change what it watches: ewsfleet mailbox update "
                                 + "\(tenant) \(address.lowercased()) --add-folder FOLDER")
            }
        }
        note("added mailbox \(mailbox.smtpAddress) to tenant \(tenant)")
    }
}

struct MailboxListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List mailboxes.")

    @OptionGroup var global: GlobalOptions
    @Option(help: "Only this tenant.") var tenant: String?
    @Option(help: "table or json") var format: OutputFormat = .table

    func run() async throws {
        let list = try await withDatabase(global) { _, pool in try await MailboxRepository(pool: pool).list(tenant: tenant) }
        TableOutput(columns: ["tenant", "mailbox", "folders", "enabled", "mode", "filter"],
                    rows: list.map { m in
                        let folders: String =
                            switch m.watch {
                            case .allFolders: "all"
                            case .folders(let names): names.joined(separator: ",")
                            }
                        return [m.tenantName, m.smtpAddress, folders, String(m.enabled), m.syncMode?.rawValue ?? "tenant",
                                m.filter?.description ?? ""]
                    }).print(format)
    }
}

/// pause / resume / remove share their arguments.
struct MailboxTarget: ParsableArguments {
    @OptionGroup var global: GlobalOptions
    @Argument(help: "Tenant name.") var tenant: String
    @Argument(help: "SMTP address.") var address: String

    func setEnabled(_ enabled: Bool) async throws {
        try await withDatabase(global) { _, pool in
            try await MailboxRepository(pool: pool).setEnabled(tenant: tenant, smtpAddress: address, enabled)
        }
        note("\(enabled ? "resumed" : "paused") \(address)")
    }
}

struct MailboxPauseCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "pause", abstract: "Stop watching a mailbox for now.")
    @OptionGroup var target: MailboxTarget

    func run() async throws { try await target.setEnabled(false) }
}

struct MailboxResumeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "resume", abstract: "Watch a paused mailbox again.")
    @OptionGroup var target: MailboxTarget

    func run() async throws { try await target.setEnabled(true) }
}

struct MailboxRemoveCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "remove", abstract: "Stop watching a mailbox and delete its mirror, sync state and status.")
    @OptionGroup var target: MailboxTarget
    @Flag(help: "Also delete its history from the changes outbox.") var purge = false

    func run() async throws {
        try await withDatabase(target.global) { _, pool in
            try await MailboxRepository(pool: pool).remove(tenant: target.tenant, smtpAddress: target.address, purge: purge)
        }
        note("removed \(target.address)")
    }
}

struct MailboxResyncCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "resync",
        abstract: "Drop the mailbox's sync states so each folder's next sync starts from scratch.",
        discussion: "A running instance resyncs the mailbox at once; the resync compares against the mirror, so only real differences reach the outbox.")
    @OptionGroup var target: MailboxTarget

    func run() async throws {
        let dropped = try await withDatabase(target.global) { _, pool in
            try await MailboxRepository(pool: pool).resetSyncStates(tenant: target.tenant, smtpAddress: target.address)
        }
        note("dropped \(dropped) sync state(s) of \(target.address); the next sync starts from scratch")
    }
}
