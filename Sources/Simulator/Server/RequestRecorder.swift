import Foundation
import NIOConcurrencyHelpers

/// `--record DIR`: every request body is saved as NNNNNN-<operation>.xml (runs on the thread pool).
final class RequestRecorder: Sendable {
    private let directory: String
    private let counter = NIOLockedValueBox(0)

    init(directory: String) {
        self.directory = directory
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    func record(_ body: [UInt8], label: String) {
        let number = counter.withLockedValue { value -> Int in
            value += 1
            return value
        }
        let safe = label.map { $0.isLetter || $0.isNumber || $0 == "-" ? $0 : "_" }
        let name = String(format: "%06d", number) + "-" + String(safe) + ".xml"
        _ = FileManager.default.createFile(atPath: directory + "/" + name, contents: Data(body))
    }
}
