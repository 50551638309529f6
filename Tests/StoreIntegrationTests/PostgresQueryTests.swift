import Foundation
import Store
import TestSupport
import Testing

@Suite(.requiresDatabase) struct PostgresQueryTests {
    static let injectionStrings: [String] = [
        "'; DROP TABLE t; --", "\" OR 1=1 --", "Robert'); DROP TABLE students;--", "$1", "\\x00", "\\",
        "'' ''", "💥 ünïcødé", "line1\nline2\r\n\ttab", "", "NULL", "%s%n", "E'\\\\'",
    ]

    @Test func parametersRoundTripVerbatimIncludingInjectionStrings() async throws {
        try await TestDatabase.withFresh("query") { database in
            let pool = database.pool()
            try await pool.withConnection { connection in
                try await connection.execute("CREATE TABLE t (id serial PRIMARY KEY, v text)", name: "create t")
                for value in Self.injectionStrings {
                    let inserted = try await connection.query(
                        "INSERT INTO t (v) VALUES ($1) RETURNING v", [PostgresValue(value)], name: "insert v")
                    #expect(try inserted.first?.decode("v", as: String.self) == value)
                }
                let all = try await connection.query("SELECT v FROM t ORDER BY id", name: "select all")
                #expect(try all.rows.map { try $0.decode("v", as: String.self) } == Self.injectionStrings)
                let count = try await connection.query("SELECT count(*) AS n FROM t", name: "count")
                #expect(try count.first?.decode("n", as: Int.self) == Self.injectionStrings.count)
            }
            await pool.shutdown()
        }
    }

    @Test func everyValueTypeRoundTrips() async throws {
        try await TestDatabase.withFresh("types") { database in
            let pool = database.pool()
            let date = Date(timeIntervalSince1970: 1_795_000_000.123456)
            let uuid = UUID()
            let data = Data((0...255).map { UInt8($0) })
            let row = try await pool.withConnection { connection in
                try await connection.query(
                    """
                    SELECT $1::text AS s, $2::bigint AS i, $3::bigint AS i64, $4::boolean AS b, $5::float8 AS d,
                           $6::timestamptz AS ts, $7::bytea AS bytes, $8::uuid AS u, $9::text AS n,
                           $10::jsonb AS j, $11::float8 AS tiny, $12::float8 AS inf, $13::date AS day
                    """,
                    [
                        "héllo", PostgresValue(Int.max), PostgresValue(Int64.min), true, PostgresValue(0.1 + 0.2),
                        PostgresValue(date), PostgresValue(data), PostgresValue(uuid), nil,
                        try .json(["k": "v\"q"]), PostgresValue(5e-324), PostgresValue(-Double.infinity),
                        "2026-01-02",
                    ], name: "types")
            }.first
            let result = try #require(row)
            #expect(try result.decode("s", as: String.self) == "héllo")
            #expect(try result.decode("i", as: Int.self) == Int.max)
            #expect(try result.decode("i64", as: Int64.self) == Int64.min)
            #expect(try result.decode("b", as: Bool.self) == true)
            #expect(try result.decode("d", as: Double.self) == 0.1 + 0.2)
            #expect(try result.decode("tiny", as: Double.self) == 5e-324)
            #expect(try result.decode("inf", as: Double.self) == -.infinity)
            let decodedDate = try result.decode("ts", as: Date.self)
            #expect(abs(decodedDate.timeIntervalSince1970 - date.timeIntervalSince1970) < 0.000_001)
            #expect(result["ts"]?.hasSuffix("+00") == true)
            #expect(try result.decode("bytes", as: Data.self) == data)
            #expect(try result.decode("u", as: UUID.self) == uuid)
            #expect(try result.decode("n", as: String?.self) == nil)
            #expect(try result.decodeJSON("j", as: [String: String].self) == ["k": "v\"q"])
            let day = try result.decode("day", as: Date.self)
            #expect(PostgresValue(day).text == "2026-01-02T00:00:00.000000Z")
            await pool.shutdown()
        }
    }

    @Test func arraysSurviveUnnestVerbatim() async throws {
        let elements: [String?] = [
            "plain", "with \"quotes\"", "back\\slash", "comma,here", "{braces}", nil, "", "NULL", "ünïcødé ✓",
            " spaced ", "'; DROP TABLE x; --",
        ]
        try await TestDatabase.withFresh("arrays") { database in
            let pool = database.pool()
            let rows = try await pool.withConnection { connection in
                try await connection.query(
                    "SELECT ord, v FROM unnest($1::text[]) WITH ORDINALITY AS u(v, ord) ORDER BY ord",
                    [.array(elements)], name: "unnest")
            }
            #expect(try rows.rows.map { try $0.decode("v", as: String?.self) } == elements)
            let roundTrip = try await pool.withConnection { connection in
                try await connection.query("SELECT $1::text[] AS a", [.array(elements)], name: "array out")
            }
            #expect(try roundTrip.first?.decode("a", as: [String?].self) == elements)
            let typed = try await pool.withConnection { connection in
                try await connection.query(
                    "SELECT $1::boolean[] AS b, $2::bigint[] AS n", [.array(values: [true, false, nil]), .array(["1", "-2"])],
                    name: "typed arrays")
            }
            #expect(try typed.first?.decode("b", as: [Bool?].self) == [true, false, nil])
            #expect(try typed.first?.decode("n", as: [Int].self) == [1, -2])
            await pool.shutdown()
        }
    }

    @Test func serverErrorsCarrySQLStateMessageAndQueryName() async throws {
        try await TestDatabase.withFresh("errors") { database in
            let pool = database.pool()
            let error = try await #require(throws: PostgresError.self) {
                try await pool.withConnection { connection in
                    try await connection.query("SELECT * FROM no_such_table", name: "load widgets")
                }
            }
            #expect(error.code == .server)
            #expect(error.sqlState == "42P01")
            #expect(error.message.contains("no_such_table"))
            #expect(error.queryName == "load widgets")
            #expect(!error.isRetryable)
            #expect(error.description.contains("query 'load widgets' failed [42P01]"))
            #expect(error.description.contains(database.name))

            let duplicate = try await #require(throws: PostgresError.self) {
                try await pool.withConnection { connection in
                    try await connection.execute("CREATE TABLE u (k text PRIMARY KEY)", name: "create u")
                    try await connection.query("INSERT INTO u VALUES ($1), ($1)", ["x"], name: "insert twice")
                }
            }
            #expect(duplicate.sqlState == "23505")
            #expect(duplicate.detail?.contains("(k)=(x)") == true)
            // The connection is still good afterwards.
            let ok = try await pool.withConnection { try await $0.query("SELECT 1 AS one", name: "after error") }
            #expect(try ok.first?.decode("one", as: Int.self) == 1)
            await pool.shutdown()
        }
    }

    @Test func executeRunsMultipleStatementsAndReportsAffectedRows() async throws {
        try await TestDatabase.withFresh("exec") { database in
            let pool = database.pool()
            let result = try await pool.withConnection { connection in
                try await connection.execute(
                    "CREATE TABLE m (n int); INSERT INTO m VALUES (1), (2), (3);", name: "migration")
                return try await connection.query("UPDATE m SET n = n + 1 WHERE n >= $1", [2], name: "bump")
            }
            #expect(result.affectedRows == 2)
            #expect(result.commandTag == "UPDATE 2")
            let settings = try await pool.withConnection { connection in
                try await connection.query(
                    "SELECT current_setting('TimeZone') AS tz, current_setting('DateStyle') AS ds, current_setting('application_name') AS app",
                    name: "settings")
            }
            #expect(settings.first?["tz"] == "UTC")
            #expect(settings.first?["ds"]?.hasPrefix("ISO") == true)
            #expect(settings.first?["app"] == "ewsfleet")
            await pool.shutdown()
        }
    }

    @Test func bulkInsertOf512RowsThroughUnnest() async throws {
        try await TestDatabase.withFresh("bulk") { database in
            let pool = database.pool()
            let count = 512
            let ids = (0..<count).map { "item-\($0)" as String? }
            let subjects = (0..<count).map { "subject \"\($0)\", with {braces} \\ and ✓" as String? }
            let inserted = try await pool.withTransaction { connection in
                try await connection.execute("CREATE TABLE items (id text PRIMARY KEY, subject text)", name: "create")
                return try await connection.query(
                    "INSERT INTO items SELECT * FROM unnest($1::text[], $2::text[])", [.array(ids), .array(subjects)],
                    name: "bulk insert")
            }
            #expect(inserted.affectedRows == count)
            let back = try await pool.withConnection {
                try await $0.query("SELECT subject FROM items WHERE id = $1", ["item-511"], name: "one")
            }
            #expect(back.first?["subject"] == subjects[511])
            await pool.shutdown()
        }
    }
}
