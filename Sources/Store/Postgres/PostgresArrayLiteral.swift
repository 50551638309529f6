/// PostgreSQL array literal text (`{"a","b\"c",NULL}`).
///
/// Every element is quoted, so commas, braces, spaces, empty strings and the word NULL are
/// data; only a Swift nil becomes SQL NULL. Inside quotes only `\` and `"` need escaping.
enum PostgresArrayLiteral {
    static func encode(_ elements: [String?]) -> String {
        var capacity = 2
        for element in elements { capacity += (element?.utf8.count ?? 4) + 3 }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(capacity + capacity / 16)
        bytes.append(UInt8(ascii: "{"))
        var first = true
        for element in elements {
            if !first { bytes.append(UInt8(ascii: ",")) }
            first = false
            guard let element else {
                bytes.append(contentsOf: "NULL".utf8)
                continue
            }
            bytes.append(UInt8(ascii: "\""))
            for byte in element.utf8 {
                if byte == UInt8(ascii: "\\") || byte == UInt8(ascii: "\"") {
                    bytes.append(UInt8(ascii: "\\"))
                }
                bytes.append(byte)
            }
            bytes.append(UInt8(ascii: "\""))
        }
        bytes.append(UInt8(ascii: "}"))
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Parses a one-dimensional array as PostgreSQL prints it (text results of `text[]` etc.).
    static func decode(_ text: String) throws(PostgresDecodingFailure) -> [String?] {
        var bytes = Array(text.utf8)[...]
        // Optional dimension decoration, e.g. "[0:1]={...}".
        if bytes.first == UInt8(ascii: "["), let equals = bytes.firstIndex(of: UInt8(ascii: "=")) {
            bytes = bytes[(equals + 1)...]
        }
        guard bytes.first == UInt8(ascii: "{"), bytes.last == UInt8(ascii: "}") else {
            throw PostgresDecodingFailure("not an array literal")
        }
        bytes = bytes.dropFirst().dropLast()
        var result: [String?] = []
        if bytes.isEmpty { return result }
        var index = bytes.startIndex
        while true {
            if bytes[index] == UInt8(ascii: "\"") {
                var element: [UInt8] = []
                index += 1
                while index < bytes.endIndex, bytes[index] != UInt8(ascii: "\"") {
                    if bytes[index] == UInt8(ascii: "\\") { index += 1 }
                    guard index < bytes.endIndex else { break }
                    element.append(bytes[index])
                    index += 1
                }
                guard index < bytes.endIndex else { throw PostgresDecodingFailure("unterminated quote") }
                index += 1  // closing quote
                result.append(String(decoding: element, as: UTF8.self))
            } else {
                let end = bytes[index...].firstIndex(of: UInt8(ascii: ",")) ?? bytes.endIndex
                let raw = String(decoding: bytes[index..<end], as: UTF8.self)
                if raw.contains("{") { throw PostgresDecodingFailure("multi-dimensional arrays are not supported") }
                result.append(raw == "NULL" ? nil : raw)
                index = end
            }
            if index == bytes.endIndex { return result }
            guard bytes[index] == UInt8(ascii: ",") else { throw PostgresDecodingFailure("expected ','") }
            index += 1
            guard index < bytes.endIndex else { throw PostgresDecodingFailure("trailing ','") }
        }
    }
}
