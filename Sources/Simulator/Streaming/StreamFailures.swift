/// Why one id was not attached: its error code.
struct StreamFailure: Error, ExpressibleByStringLiteral {
    var code: String
    init(_ code: String) { self.code = code }
    init(stringLiteral code: String) { self.code = code }
}

/// Failed ids grouped by code, in first-seen order (one error envelope per code, as Exchange does).
struct StreamFailures {
    private var ids: [String: [String]] = [:]
    private var order: [String] = []

    var isEmpty: Bool { order.isEmpty }

    mutating func add(_ code: String, _ id: String) {
        if ids[code] == nil { order.append(code) }
        ids[code, default: []].append(id)
    }

    var list: [(code: String, message: String, ids: [String])] {
        order.map { (code: $0, message: SimWorld.messages[$0] ?? $0, ids: ids[$0]!) }
    }
}
