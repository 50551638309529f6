import Testing
@testable import Store

@Suite struct MigrationTests {
    @Test func bundledSchemaParsesIntoOrderedMigrations() throws {
        let migrations = try Migration.bundled
        #expect(migrations.first?.version == 1)
        #expect(migrations.map(\.version) == Array(1...migrations.count))
        #expect(migrations[0].sql.contains("CREATE TABLE changes"))
        #expect(migrations[0].checksum.count == 64)
    }

    @Test func sectionsSplitOnHeaders() throws {
        let text = """
        -- preamble comment is ignored
        -- migration: 1 first
        CREATE TABLE a (x int);
        -- migration: 2 second step
        ALTER TABLE a ADD y int;
        """
        let m = try Migration.parse(text)
        #expect(m.map(\.name) == ["first", "second step"])
        #expect(m[1].sql == "ALTER TABLE a ADD y int;")
        #expect(m[0].checksum != m[1].checksum)
    }

    @Test(arguments: [
        "-- migration: 2 gap\nSELECT 1;",
        "-- migration: x bad\nSELECT 1;",
        "-- migration: 1\nSELECT 1;",
        "no sections at all",
    ])
    func malformedSchemasAreRejected(_ text: String) {
        #expect(throws: MigrationError.self) { try Migration.parse(text) }
    }
}
