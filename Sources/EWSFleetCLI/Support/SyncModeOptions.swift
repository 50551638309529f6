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

/// `--properties` of `tenant add|update`: a `PropertyProfile` as the user spells it.
enum PropertiesOption {
    static let help = ArgumentHelp(
        "What each change carries in changes.properties: default, extended, or a comma-separated list of fields and "
            + "set names, e.g. extended,body_preview. body_preview (personal data) only when named.",
        valueName: "profile")

    /// The profile, or a usage error that names the unknown field and the known ones.
    static func parse(_ text: String?) throws -> PropertyProfile? {
        try usage(text, prefix: "--properties: ", PropertyProfile.init(parsing:))
    }
}

enum CalendarWindowOption {
    static let help = ArgumentHelp(
        "How far calendar folders are watched: BACK,AHEAD in days (default 30d,365d); the window moves at 00:00 UTC.",
        valueName: "back,ahead")

    static func parse(_ text: String?) throws -> CalendarWindowSetting? {
        try usage(text, prefix: "--calendar-window: ", CalendarWindowSetting.init(parsing:))
    }
}

/// A value parsed by the store's own parser, its `StoreError` turned into a usage error.
func usage<T>(_ text: String?, prefix: String = "", _ parse: (String) throws(StoreError) -> T) throws -> T? {
    guard let text else { return nil }
    do {
        return try parse(text)
    } catch {
        throw ValidationError(prefix + error.message)
    }
}

/// `--filter` of `mailbox add|update`: a `MailboxFilter` as the user spells it.
enum FilterOption {
    static let help = ArgumentHelp(
        "Only items this matches are mirrored and recorded: terms from:ADDRESS, from-domain:DOMAIN, subject-prefix:TEXT, "
            + "category:NAME, importance:low|normal|high, joined with and, or, not and parentheses; values with spaces "
            + "in double quotes.",
        valueName: "expression")

    static func parse(_ text: String?) throws -> MailboxFilter? { try usage(text, MailboxFilter.init(parsing:)) }
}
