import ArgumentParser
import Foundation

enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
    case table, json
}

/// Rows of strings printed as an aligned table or as JSON objects (one array), to stdout.
struct TableOutput {
    var columns: [String]
    var rows: [[String?]]

    func render(_ format: OutputFormat) -> String {
        switch format {
        case .json:
            let objects = rows.map { row in
                Dictionary(uniqueKeysWithValues: zip(columns, row).map { ($0, $1.map { $0 as Any } ?? NSNull()) })
            }
            let data = (try? JSONSerialization.data(withJSONObject: objects, options: [.prettyPrinted, .sortedKeys])) ?? Data("[]".utf8)
            return String(decoding: data, as: UTF8.self)
        case .table:
            let cells = rows.map { $0.map { $0 ?? "-" } }
            let widths = columns.indices.map { i in max(columns[i].count, cells.map { $0[i].count }.max() ?? 0) }
            func line(_ values: [String]) -> String {
                zip(values, widths).map { $0.padding(toLength: $1, withPad: " ", startingAt: 0) }
                    .joined(separator: "  ").trimmingCharacters(in: .whitespaces)
            }
            return ([line(columns.map { $0.uppercased() })] + cells.map(line)).joined(separator: "\n")
        }
    }

    func print(_ format: OutputFormat) { Swift.print(render(format)) }

    /// A single record as a two-column field/value table (table format), or as one JSON object.
    func print(_ format: OutputFormat, transposed: Bool) {
        guard transposed, rows.count == 1 else { return print(format) }
        TableOutput(columns: ["field", "value"], rows: zip(columns, rows[0]).map { [$0, $1] }).print(.table)
    }
}

/// Messages (not data) go to stderr.
func note(_ message: String) {
    FileHandle.standardError.write(Data("ewsfleet: \(message)\n".utf8))
}
