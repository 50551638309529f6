import Foundation
import Testing

@testable import Store

@Suite struct PostgresDecodableTests {
    @Test func timestampFormatsUTCWithMicroseconds() {
        let date = Date(timeIntervalSince1970: 1_795_000_000.123456)
        #expect(PostgresTimestamp.format(date) == "2026-11-18T11:06:40.123456Z")
        #expect(PostgresTimestamp.format(Date(timeIntervalSince1970: 0)) == "1970-01-01T00:00:00.000000Z")
        #expect(PostgresTimestamp.format(Date(timeIntervalSince1970: -1.5)) == "1969-12-31T23:59:58.500000Z")
    }

    @Test(arguments: [(String, Double)]([
        ("2026-11-18 11:06:40.123456+00", 1_795_000_000.123456),
        ("2026-11-18 11:06:40+00", 1_795_000_000),
        ("2026-11-18 13:06:40.5+02", 1_795_000_000.5),
        ("2026-11-18 06:36:40+04:30", 1_795_000_000 - 32_400),
        ("2026-11-18T11:06:40.123456Z", 1_795_000_000.123456),
        ("2026-11-18 11:06:40", 1_795_000_000),
        ("1970-01-01", 0),
        ("2000-02-29 00:00:00+00", 951_782_400),
    ]))
    func timestampParses(_ text: String, _ seconds: Double) throws {
        let date = try Date(postgresText: text)
        #expect(abs(date.timeIntervalSince1970 - seconds) < 0.000_001)
    }

    @Test func timestampRoundTripsAcrossCenturies() throws {
        for seconds in stride(from: -62_000_000_000.0, to: 250_000_000_000, by: 7_777_777_777.25) {
            let date = Date(timeIntervalSince1970: seconds)
            let back = try PostgresTimestamp.parse(PostgresTimestamp.format(date))
            #expect(abs(back.timeIntervalSince1970 - seconds) < 0.001, "\(PostgresTimestamp.format(date))")
        }
    }

    @Test func rejectsGarbage() {
        #expect(throws: PostgresDecodingFailure.self) { try Date(postgresText: "yesterday") }
        #expect(throws: PostgresDecodingFailure.self) { try Int(postgresText: "12a") }
        #expect(throws: PostgresDecodingFailure.self) { try Bool(postgresText: "yes") }
        #expect(throws: PostgresDecodingFailure.self) { try Data(postgresText: "\\x0") }
        #expect(throws: PostgresDecodingFailure.self) { try Data(postgresText: "\\xzz") }
        #expect(throws: PostgresDecodingFailure.self) { try UUID(postgresText: "nope") }
    }

    @Test func scalars() throws {
        #expect(try Bool(postgresText: "t") == true)
        #expect(try Bool(postgresText: "f") == false)
        #expect(try Double(postgresText: "Infinity") == .infinity)
        #expect(try Double(postgresText: "NaN").isNaN)
        #expect(try Double(postgresText: "1e-05") == 0.00001)
        #expect(try Data(postgresText: "\\x00ff10") == Data([0, 0xff, 0x10]))
        #expect(try UInt64(postgresText: "18446744073709551615") == .max)
        #expect(try Optional<String>.postgresNull() == nil)
        #expect(throws: PostgresDecodingFailure.self) { try String.postgresNull() }
    }

    @Test func rowDecodeNamesColumnAndQueryInErrors() throws {
        let columns = PostgresColumns(names: ["id", "name"], queryName: "load", target: "h:1/db")
        let row = PostgresRow(columns: columns, values: ["x", nil])
        #expect(try row.decode("name", as: String?.self) == nil)
        #expect(row["id"] == "x")
        let error = try #require(throws: PostgresError.self) { try row.decode("id", as: Int.self) }
        #expect(error.code == .decoding)
        #expect(error.queryName == "load")
        #expect(error.description.contains("column 'id'"))
        #expect(throws: PostgresError.self) { try row.decode("name", as: String.self) }
        #expect(throws: PostgresError.self) { try row.decode("missing", as: String.self) }
    }
}
