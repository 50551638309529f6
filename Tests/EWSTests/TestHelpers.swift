import TestSupport
import Foundation
import Testing

@testable import EWS

/// Paths and helpers shared by the EWS tests.
enum TestPaths {
    /// Package root, found from this file's location (Tests/EWSTests/TestHelpers.swift).
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()
    /// The official XSDs (see `EWSSchemaDirectory`); tests that validate carry `.requiresSchema`.
    static var schemaDirectory: URL { URL(fileURLWithPath: EWSSchemaDirectory.path ?? EWSSchemaDirectory.expected) }

    static func fixture(_ name: String) throws -> Data {
        let url = try #require(Bundle.module.url(forResource: "Fixtures/\(name)", withExtension: nil))
        return try Data(contentsOf: url)
    }
}

/// Runs `xmllint --noout --schema <schema> <file>` through Foundation `Process`.
enum SchemaValidator {
    struct Outcome {
        var passed: Bool
        var output: String
    }

    static func validate(_ xml: Data, schema: String = "soap11-envelope.xsd") throws -> Outcome {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("ews-xsd-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("envelope.xml")
        try xml.write(to: file)
        let process = SpawnedProcess()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/xmllint")
        process.arguments = [
            "--noout", "--schema", TestPaths.schemaDirectory.appendingPathComponent(schema).path, file.path,
        ]
        let pipe = Pipe()
        process.standardError = pipe
        process.standardOutput = pipe
        try process.run()
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Outcome(passed: process.terminationStatus == 0, output: String(decoding: output, as: UTF8.self))
    }
}
