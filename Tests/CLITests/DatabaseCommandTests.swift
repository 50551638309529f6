import Foundation
import Store
import Support
import TestSupport
import Testing

@Suite struct DatabaseCommandTests {
    @Test func aServerThatIsDownIsOneClearLineAndExit69() throws {
        let result = try CommandRunner.run("ewsfleet", ["db", "migrate", "--database-url",
                                                        "postgres://ewsfleet:topsecretpw@127.0.0.1:1/ewsfleet"])
        #expect(result.status == 69)
        let lines = result.stderr.split(separator: "\n")
        #expect(lines.count == 1)
        #expect(result.stderr.contains("127.0.0.1:1"))
        #expect(result.stderr.lowercased().contains("connection refused"))
        #expect(!result.stderr.contains("topsecretpw"))
        #expect(result.stdout.isEmpty)
    }

    /// The release has one home (`ProductVersion`): `--version` prints it, heartbeats record it.
    @Test func versionPrintsTheProductVersion() throws {
        let result = try CommandRunner.run("ewsfleet", ["--version"])
        #expect(result.status == 0)
        #expect(result.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == ProductVersion.current)
    }

    @Test func aMalformedURLIsOneClearLine() throws {
        let result = try CommandRunner.run("ewsfleet", ["db", "migrate", "--database-url", "postgres://[broken"])
        #expect(result.status == 78)
        #expect(result.stderr.split(separator: "\n").count == 1)
    }

    @Test(.requiresDatabase) func migrateTwiceThenVersion() async throws {
        try await TestDatabase.withFresh("cli") { db in
            let first = try CommandRunner.run("ewsfleet", ["db", "migrate", "--database-url", db.url])
            #expect(first.status == 0, "\(first.stderr)")
            #expect(first.stderr.contains("applied migration"))
            let second = try CommandRunner.run("ewsfleet", ["db", "migrate"], environment: ["EWSFLEET_DATABASE_URL": db.url])
            #expect(second.status == 0)
            #expect(second.stderr.contains("up to date"))
            let version = try CommandRunner.run("ewsfleet", ["db", "version", "--database-url", db.url])
            let latest = try #require(Migration.bundled.last).version
            #expect(version.stdout.hasPrefix("database \(latest) binary \(latest)"))
        }
    }
}
