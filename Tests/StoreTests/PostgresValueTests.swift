import Foundation
import Testing

@testable import Store

@Suite struct PostgresValueTests {
    @Test func arrayLiteralQuotesEveryElementAndEscapes() {
        let value = PostgresValue.array(["a", "b\"c", "back\\slash", "", nil, "NULL", "x,y", "{z}", " sp "])
        #expect(
            value.text
                == #"{"a","b\"c","back\\slash","",NULL,"NULL","x,y","{z}"," sp "}"#)
    }

    @Test func emptyArray() {
        #expect(PostgresValue.array([]).text == "{}")
    }

    @Test(arguments: [
        [String?](["a", "b\"c", "\\", "", nil, "NULL", "x,y", "{z}", "ünïcødé ✓", "line\nbreak"]),
        [], [nil], [""],
    ])
    func arrayLiteralRoundTripsThroughDecoder(_ elements: [String?]) throws {
        let text = try #require(PostgresValue.array(elements).text)
        #expect(try PostgresArrayLiteral.decode(text) == elements)
    }

    @Test func decodesServerStyleUnquotedArrays() throws {
        #expect(try PostgresArrayLiteral.decode("{1,2,NULL}") == ["1", "2", nil])
        #expect(try [Int?](postgresText: "{1,2,NULL}") == [1, 2, nil])
        #expect(throws: PostgresDecodingFailure.self) { try [Int](postgresText: "{1,NULL}") }
    }

    @Test func scalarEncodings() throws {
        #expect(PostgresValue(42).text == "42")
        #expect(PostgresValue(Int64.min).text == "-9223372036854775808")
        #expect(PostgresValue(true).text == "true")
        #expect(PostgresValue(Double.infinity).text == "Infinity")
        #expect(PostgresValue(-Double.infinity).text == "-Infinity")
        #expect(PostgresValue(Double.nan).text == "NaN")
        #expect(PostgresValue(0.1).text == "0.1")
        #expect(PostgresValue(Data([0, 0xff, 0x10])).text == #"\x00ff10"#)
        #expect(PostgresValue(nil as String?).text == nil)
        let uuid = try #require(UUID(uuidString: "E621E1F8-C36C-495A-93FC-0C247A3E6E5F"))
        #expect(PostgresValue(uuid).text == "e621e1f8-c36c-495a-93fc-0c247a3e6e5f")
        let literal: PostgresValue = nil
        #expect(literal.text == nil)
    }

    @Test func jsonValues() throws {
        struct Payload: Codable, Equatable { var subject: String }
        let value = try PostgresValue.json(Payload(subject: "hi \"there\""))
        let data = try #require(value.text?.data(using: .utf8))
        #expect(try JSONDecoder().decode(Payload.self, from: data) == Payload(subject: "hi \"there\""))
        #expect(PostgresValue.jsonb(Data("{\"a\":1}".utf8)).text == "{\"a\":1}")
    }

    @Test func arrayEncodingIsLinear() {
        // 512 rows × 64 KiB would be quadratic-slow if each append copied; this only checks the
        // output size is exact (the benchmark measures speed).
        let element = String(repeating: "x\"", count: 1000)
        let text = PostgresValue.array(Array(repeating: element, count: 512)).text ?? ""
        #expect(text.utf8.count == 2 + 512 * (3000 + 2) + 511)
    }
}
