import Foundation
public import Testing

/// Where the official EWS schemas are for tests: `EWSFLEET_SCHEMA_DIR`, else
/// `../shared/reference/ews-schema` beside the package. A user's clone may have neither; then the
/// tests that need the schemas are skipped (one note says so) and simulators run without request
/// validation, unless `EWSFLEET_TEST_REQUIRE_SCHEMA=1` (CI sets it), which makes them fail instead.
public enum EWSSchemaDirectory {
    public static var isRequired: Bool { ProcessInfo.processInfo.environment["EWSFLEET_TEST_REQUIRE_SCHEMA"] == "1" }

    /// Where the schemas are looked for.
    public static let expected: String = {
        if let directory = ProcessInfo.processInfo.environment["EWSFLEET_SCHEMA_DIR"], !directory.isEmpty { return directory }
        // Sources/TestSupport/EWSSchemaDirectory.swift → package root → ../shared/reference/ews-schema
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        return root.deletingLastPathComponent().appendingPathComponent("shared/reference/ews-schema").path
    }()

    /// The directory, or nil when it is absent and not required. When required it is returned even
    /// if absent, so the tests that use it fail loudly.
    public static let path: String? = {
        let present = FileManager.default.fileExists(atPath: expected + "/soap11-envelope.xsd")
        if present || isRequired { return expected }
        print("note: EWS schemas not found at \(expected) (set EWSFLEET_SCHEMA_DIR); schema tests are skipped "
              + "and simulators do not validate requests")
        return nil
    }()
}

extension Trait where Self == ConditionTrait {
    /// Runs the test only when the EWS schemas are available (or required, so that missing ones fail).
    public static var requiresSchema: Self {
        .enabled("needs the EWS schemas: set EWSFLEET_SCHEMA_DIR (EWSFLEET_TEST_REQUIRE_SCHEMA=1 makes missing ones fail)") {
            EWSSchemaDirectory.path != nil
        }
    }
}
