import Foundation
import ArgumentParser
import Store

/// `--mode` values: the names of `SyncMode` everywhere in ewsfleet.
enum ModeOption: String, ExpressibleByArgument, CaseIterable {
    case notify
    case syncOnly = "sync-only"
    var mode: SyncMode { SyncMode(rawValue: rawValue)! }
}

/// A poll interval such as `60s`, `5m`, `1h` or plain seconds, within `NewTenant.pollIntervalRange`.
struct PollInterval: ExpressibleByArgument, Equatable {
    var seconds: Int

    init?(argument: String) {
        let text = argument.trimmingCharacters(in: .whitespaces).lowercased()
        let units: [(String, Int)] = [("h", 3600), ("m", 60), ("s", 1)]
        let (digits, factor) = units.first { text.hasSuffix($0.0) }.map { (String(text.dropLast()), $0.1) } ?? (text, 1)
        guard let n = Int(digits), n > 0, n <= Int(Int32.max) / factor,
              NewTenant.pollIntervalRange.contains(n * factor) else { return nil }
        seconds = n * factor
    }

    static var defaultValueDescription: String { "60s" }
}

extension PollInterval {
    /// For the `help` of every `--poll-interval`.
    static let help = "Sync-only mode: time between two syncs of a mailbox, e.g. 60s, 5m, 1h (10s to 24h)."
}

/// `--start` values of `mailbox add|import`.
enum StartOption: String, ExpressibleByArgument, CaseIterable {
    case backfill, now
    var mode: StartMode { StartMode(rawValue: rawValue)! }

    static let help = "backfill (default: what its folders hold becomes `created` rows, fetched with GetItem) or now "
        + "(what they hold is only mirrored, from the sync pages, without GetItem or outbox rows; later changes are recorded)."
}
