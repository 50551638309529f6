import Foundation
import Simulator

/// The outbox oracle (`OutboxOracle`) for a benchmark that runs ews-sim and ewsfleet as processes:
/// reads one JSON document from stdin, which Benchmarks/chaos_bench.py assembles from ews-sim's
/// control API (items and ledger of each mailbox) and from `changes`:
///
///     {"folders": {"inbox": "inbox"},                 // simulator folder name -> changes.folder_id
///      "mailboxes": [{"mailbox": "...",
///                     "truth": {"inbox": [{"item_id", "change_key", "is_read", "subject"}, ...]},
///                     "ledger": {"entries": [...], "dropped": 0},
///                     "rows": [["inbox", "item id", "created", true], ...]}]}   // commit order
///
/// and prints the verdict as one JSON object. Exit status 0 when the outbox is clean, 1 when not,
/// 2 when the input is unusable.
@main
enum ChaosVerdict {
    static func main() {
        do {
            let verdict = try judge(FileHandle.standardInput.readDataToEndOfFile())
            let object: [String: Any] = [
                "clean": verdict.isClean, "lost": verdict.lost.count, "duplicated": verdict.duplicated.count,
                "wrong_read_state": verdict.wrongReadState.count, "missing_deletes": verdict.missingDeletes.count,
                "exempt_net_change": verdict.exempt, "ledger_dropped": verdict.ledgerDropped,
                "examples": Array((verdict.lost + verdict.duplicated + verdict.wrongReadState + verdict.missingDeletes).prefix(10)),
            ]
            let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
            print(String(decoding: data, as: UTF8.self))
            exit(verdict.isClean ? 0 : 1)
        } catch {
            FileHandle.standardError.write(Data("chaos-verdict: \(error)\n".utf8))
            exit(2)
        }
    }

    struct InputError: Error, CustomStringConvertible {
        var description: String
    }

    static func judge(_ input: Data) throws -> OutboxOracle.Verdict {
        guard let root = try JSONSerialization.jsonObject(with: input) as? [String: Any],
              let folders = root["folders"] as? [String: String],
              let mailboxes = root["mailboxes"] as? [[String: Any]]
        else { throw InputError(description: "expected {\"folders\": {...}, \"mailboxes\": [...]}") }
        let names = Dictionary(uniqueKeysWithValues: folders.map { ($0.value, $0.key) })
        var verdict = OutboxOracle.Verdict()
        for mailbox in mailboxes {
            let name = mailbox["mailbox"] as? String ?? "?"
            guard let truthJSON = mailbox["truth"] as? [String: Any], let ledger = mailbox["ledger"] as? [String: Any],
                  let rawEntries = ledger["entries"] as? [[String: Any]], let rawRows = mailbox["rows"] as? [[Any]]
            else { throw InputError(description: "mailbox \(name): truth, ledger.entries and rows are required") }
            var truth: [String: [SimWorld.ItemSnapshot]] = [:]
            for (folder, items) in truthJSON {
                truth[folder] = try JSONDecoder().decode([SimWorld.ItemSnapshot].self,
                                                         from: JSONSerialization.data(withJSONObject: items))
            }
            let entries = rawEntries.compactMap { LedgerEntry(controlJSON: $0) }
            guard entries.count == rawEntries.count else { throw InputError(description: "mailbox \(name): unreadable ledger entry") }
            let rows = try rawRows.map { row -> OutboxOracle.Row in
                guard row.count == 4, let folder = row[0] as? String, let item = row[1] as? String, let kind = row[2] as? String
                else { throw InputError(description: "mailbox \(name): a row is [folder_id, item_id, kind, is_read]") }
                return OutboxOracle.Row(folder: names[folder] ?? "", itemID: item, kind: kind, isRead: row[3] as? Bool)
            }
            verdict.merge(OutboxOracle.check(truth: truth, ledger: entries, ledgerDropped: ledger["dropped"] as? Int ?? 0,
                                             rows: rows))
        }
        return verdict
    }
}
