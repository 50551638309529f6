import ArgumentParser
import Store

struct MailboxUpdateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "update", abstract: "Change what a mailbox watches, or how.",
        discussion: "A running instance applies the change within seconds: it restarts the mailbox with the new settings. "
            + "A folder no longer watched keeps its mirror rows and SyncState (not updated any more; watching it again "
            + "resumes from there) unless --purge removes them, each item with a `deleted` row in the outbox.")

    @OptionGroup var target: MailboxTarget
    @Option(name: .customLong("add-folder"), help: "Watch this folder too: a name, an id, or search:NAME (repeatable).") var addFolders: [String] = []
    @Option(name: .customLong("remove-folder"), help: "Stop watching this folder (repeatable).") var removeFolders: [String] = []
    @Flag(name: .customLong("all-folders"), help: "Watch every folder (needs impersonation).") var allFolders = false
    @Flag(name: .customLong("folders-list"),
          help: "Watch a list of folders again: the ones --add-folder names, or inbox.") var foldersList = false
    @Option(help: "notify, sync-only, or tenant (the tenant's mode).") var mode: String?
    @Option(name: .customLong("poll-interval"), help: ArgumentHelp(PollInterval.help + " Or tenant (the tenant's)."))
    var pollInterval: String?
    @Flag(help: "Folders no longer watched leave the mirror, each item with a `deleted` row.") var purge = false
    @Option(help: ArgumentHelp(FilterOption.help.abstract + " none removes it.", valueName: "expression|none"))
    var filter: String?

    func validate() throws {
        if allFolders && foldersList { throw ValidationError("give --all-folders or --folders-list, not both") }
        if allFolders && !(addFolders.isEmpty && removeFolders.isEmpty) {
            throw ValidationError("--all-folders watches every folder: no --add-folder or --remove-folder with it")
        }
        _ = try parsedMode()
        _ = try parsedInterval()
        _ = try parsedFilter()
    }

    private func parsedFilter() throws -> MailboxOverride<MailboxFilter>? {
        guard let filter else { return nil }
        if filter.trimmingCharacters(in: .whitespaces) == "none" { return .tenant }
        return try FilterOption.parse(filter).map { .value($0) }
    }

    private func parsedMode() throws -> MailboxOverride<SyncMode>? {
        guard let mode else { return nil }
        if mode == "tenant" { return .tenant }
        guard let value = ModeOption(rawValue: mode) else { throw ValidationError("--mode must be notify, sync-only or tenant") }
        return .value(value.mode)
    }

    private func parsedInterval() throws -> MailboxOverride<Int>? {
        guard let pollInterval else { return nil }
        if pollInterval == "tenant" { return .tenant }
        guard let value = PollInterval(argument: pollInterval) else {
            throw ValidationError("--poll-interval must be 10s to 24h (e.g. 60s, 5m, 1h) or tenant")
        }
        return .value(value.seconds)
    }

    func run() async throws {
        var update = MailboxUpdate()
        update.addFolders = addFolders
        update.removeFolders = removeFolders
        update.allFolders = allFolders ? true : foldersList ? false : nil
        update.syncMode = try parsedMode()
        update.pollIntervalSeconds = try parsedInterval()
        update.filter = try parsedFilter()
        update.purge = purge
        guard update != MailboxUpdate(), update != { var u = MailboxUpdate(); u.purge = true; return u }() else {
            throw CLIError(.usage, "nothing to update: give at least one option")
        }
        let result = try await withDatabase(target.global) { _, pool in
            try await MailboxRepository(pool: pool).update(tenant: target.tenant, smtpAddress: target.address, update)
        }
        var message = "updated \(result.mailbox.smtpAddress)"
        if !result.unwatched.isEmpty {
            message += purge
                ? "; purged \(result.unwatched.joined(separator: ", ")) (\(result.purgedItems) deleted row(s))"
                : "; no longer watching \(result.unwatched.joined(separator: ", ")) (mirror rows kept; --purge removes them)"
        }
        note(message)
    }
}
