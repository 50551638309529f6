public import ArgumentParser
import Foundation
import Store
import Support

/// `ewsfleet`: the admin CLI and the fleet service. One group command per noun; each leaf is thin
/// over library code. Data goes to stdout, messages to stderr.
public struct EWSFleetCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "ewsfleet",
        abstract: "Watches Exchange mailboxes through EWS and records every change in PostgreSQL.",
        version: ProductVersion.current,
        subcommands: [DBCommand.self, TenantCommand.self, MailboxCommand.self, RunCommand.self, StatusCommand.self,
                      EWSCommand.self, SecretsCommand.self, ChangesCommand.self])

    public init() {}

    /// Runs the command and turns any error into one line on stderr plus a documented exit code.
    public static func execute() async {
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            if let exit = error as? ExitCode { Foundation.exit(exit.rawValue) }
            if let cli = CLIError.presentable(error) {
                FileHandle.standardError.write(Data("ewsfleet: \(cli.message)\n".utf8))
                Foundation.exit(cli.kind.rawValue)
            }
            exit(withError: error)  // ArgumentParser's own usage errors and help
        }
    }
}
