import Foundation
import Store

/// Formats outbox rows: an aligned table (header once) or one JSON object per line.
struct ChangesPrinter {
    let format: OutputFormat
    private var headerPrinted = false
    static let columns = ["position", "committed_at", "tenant", "mailbox", "folder_id", "kind", "is_read", "item_id", "subject"]

    init(format: OutputFormat) { self.format = format }

    static func values(_ record: OutboxRecord) -> [String?] {
        let row = record.row
        let properties = row["properties"].flatMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        return [record.position.description, row["committed_at"], row["tenant"], row["mailbox"], row["folder_id"],
                row["kind"], row["is_read"].map { $0 == "t" ? "true" : "false" }, row["item_id"],
                properties?["subject"] as? String]
    }

    mutating func print(_ batch: [OutboxRecord]) {
        switch format {
        case .json:
            for record in batch {
                let object = Dictionary(uniqueKeysWithValues: zip(Self.columns, Self.values(record)).map { ($0, $1.map { $0 as Any } ?? NSNull()) })
                let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8)
                Swift.print(String(decoding: data, as: UTF8.self))
            }
        case .table:
            var lines = TableOutput(columns: Self.columns, rows: batch.map(Self.values)).render(.table).split(separator: "\n")
            if headerPrinted { lines.removeFirst() }
            headerPrinted = true
            Swift.print(lines.joined(separator: "\n"))
        }
        fflush(nil)  // all streams; `stdout` itself is not concurrency-safe to name
    }
}
