import Foundation

/// A mailbox's filtered scope (`mailbox add|update --filter`, `mailboxes.filter`): only items it
/// matches reach the mirror and `changes`. The language is small on purpose:
///
///     expr  := or
///     or    := and ("or" and)*
///     and   := unary ("and" unary)*
///     unary := "not" unary | "(" expr ")" | term
///     term  := KEY ":" VALUE        VALUE: a word, or "a quoted string" (\" and \\ escape)
///
/// Keys (every comparison ignores case):
/// - `from:ADDRESS`: the sender's address (From, else Sender) equals it;
/// - `from-domain:DOMAIN`: the sender's domain is DOMAIN or one of its subdomains;
/// - `subject-prefix:TEXT`: the subject starts with TEXT;
/// - `category:NAME`: the item has that category;
/// - `importance:low|normal|high`.
public struct MailboxFilter: Sendable, Equatable, CustomStringConvertible {
    public enum Key: String, Sendable, CaseIterable {
        case from, fromDomain = "from-domain", subjectPrefix = "subject-prefix", category, importance
    }

    public struct Term: Sendable, Equatable {
        public var key: Key
        /// Lower-cased for every key but the subject prefix, which keeps its case for display.
        public var value: String
    }

    public indirect enum Expression: Sendable, Equatable {
        case term(Term)
        case and(Expression, Expression)
        case or(Expression, Expression)
        case not(Expression)
    }

    /// What an item must show for a filter to judge it.
    public struct Subject: Sendable, Equatable {
        public var from: String?
        public var subject: String?
        public var categories: [String]
        public var importance: String?

        public init(from: String?, subject: String?, categories: [String], importance: String?) {
            self.from = from
            self.subject = subject
            self.categories = categories
            self.importance = importance
        }
    }

    public let expression: Expression

    /// Hostile or mistaken input stays small: the text, the nesting and the number of terms.
    public static let maxLength = 1000
    public static let maxDepth = 16
    public static let maxTerms = 32

    public init(parsing text: String) throws(StoreError) {
        guard text.count <= Self.maxLength else {
            throw StoreError(.invalidInput, "--filter is longer than \(Self.maxLength) characters")
        }
        var parser = Parser(tokens: try Self.tokenize(text))
        let expression = try parser.parseOr(depth: 0)
        guard parser.index == parser.tokens.count else {
            throw StoreError(.invalidInput, "--filter: unexpected \(parser.tokens[parser.index].shown) (terms join with and, or, not)")
        }
        guard parser.terms <= Self.maxTerms else { throw StoreError(.invalidInput, "--filter has more than \(Self.maxTerms) terms") }
        self.expression = expression
    }

    /// The canonical spelling, as stored: one space around `and`/`or`, parentheses only where needed.
    public var description: String { Self.render(expression, parent: 0) }

    public func matches(_ item: Subject) -> Bool { Self.evaluate(expression, item) }

    static func evaluate(_ e: Expression, _ item: Subject) -> Bool {
        switch e {
        case .and(let a, let b): evaluate(a, item) && evaluate(b, item)
        case .or(let a, let b): evaluate(a, item) || evaluate(b, item)
        case .not(let a): !evaluate(a, item)
        case .term(let t): t.matches(item)
        }
    }

    // MARK: - Text

    enum Token: Equatable {
        case word(String), quoted(String), open, close, colon

        var shown: String {
            switch self {
            case .word(let w): "'\(w)'"
            case .quoted(let q): "\"\(q)\""
            case .open: "'('"
            case .close: "')'"
            case .colon: "':'"
            }
        }
    }

    static func tokenize(_ text: String) throws(StoreError) -> [Token] {
        var tokens: [Token] = []
        var chars = Array(text)[...]
        while let c = chars.first {
            if c.isWhitespace { chars.removeFirst(); continue }
            switch c {
            case "(": tokens.append(.open); chars.removeFirst()
            case ")": tokens.append(.close); chars.removeFirst()
            case ":": tokens.append(.colon); chars.removeFirst()
            case "\"":
                chars.removeFirst()
                var value = ""
                var closed = false
                while let d = chars.popFirst() {
                    if d == "\"" { closed = true; break }
                    if d == "\\" {
                        guard let escaped = chars.popFirst() else { break }
                        value.append(escaped)
                    } else {
                        value.append(d)
                    }
                }
                guard closed else { throw StoreError(.invalidInput, "--filter: a quoted value is not closed") }
                tokens.append(.quoted(value))
            default:
                var word = ""
                while let d = chars.first, !d.isWhitespace, !"():\"".contains(d) {
                    word.append(d)
                    chars.removeFirst()
                }
                tokens.append(.word(word))
            }
        }
        guard !tokens.isEmpty else { throw StoreError(.invalidInput, "--filter is empty") }
        return tokens
    }

    struct Parser {
        let tokens: [Token]
        var index = 0
        var terms = 0

        init(tokens: [Token]) { self.tokens = tokens }

        mutating func keyword(_ word: String) -> Bool {
            guard index < tokens.count, case .word(let w) = tokens[index], w.lowercased() == word else { return false }
            index += 1
            return true
        }

        mutating func parseOr(depth: Int) throws(StoreError) -> Expression {
            var e = try parseAnd(depth: depth)
            while keyword("or") { e = .or(e, try parseAnd(depth: depth)) }
            return e
        }

        mutating func parseAnd(depth: Int) throws(StoreError) -> Expression {
            var e = try parseUnary(depth: depth)
            while keyword("and") { e = .and(e, try parseUnary(depth: depth)) }
            return e
        }

        mutating func parseUnary(depth: Int) throws(StoreError) -> Expression {
            guard depth < MailboxFilter.maxDepth else { throw StoreError(.invalidInput, "--filter nests too deeply") }
            if keyword("not") { return .not(try parseUnary(depth: depth + 1)) }
            guard index < tokens.count else { throw StoreError(.invalidInput, "--filter ends where a term is expected") }
            if tokens[index] == .open {
                index += 1
                let e = try parseOr(depth: depth + 1)
                guard index < tokens.count, tokens[index] == .close else {
                    throw StoreError(.invalidInput, "--filter: a '(' is not closed")
                }
                index += 1
                return e
            }
            return .term(try parseTerm())
        }

        mutating func parseTerm() throws(StoreError) -> Term {
            let known = MailboxFilter.Key.allCases.map(\.rawValue).joined(separator: ", ")
            guard case .word(let name) = tokens[index] else {
                throw StoreError(.invalidInput, "--filter: expected a term like importance:high, found \(tokens[index].shown)")
            }
            guard let key = MailboxFilter.Key(rawValue: name.lowercased()) else {
                throw StoreError(.invalidInput, "--filter: unknown key \(name) (known: \(known))")
            }
            guard index + 2 < tokens.count, tokens[index + 1] == .colon else {
                throw StoreError(.invalidInput, "--filter: \(name) needs a value, as in \(name):VALUE")
            }
            let value: String
            switch tokens[index + 2] {
            case .word(let w): value = w
            case .quoted(let q): value = q
            default: throw StoreError(.invalidInput, "--filter: \(name) needs a value, as in \(name):VALUE")
            }
            index += 3
            terms += 1
            return try MailboxFilter.Term(key: key, checking: value)
        }
    }

    static func render(_ e: Expression, parent: Int) -> String {
        // Precedence: or 1, and 2, not/term 3.
        switch e {
        case .or(let a, let b):
            let text = render(a, parent: 1) + " or " + render(b, parent: 1)
            return parent > 1 ? "(\(text))" : text
        case .and(let a, let b):
            let text = render(a, parent: 2) + " and " + render(b, parent: 2)
            return parent > 2 ? "(\(text))" : text
        case .not(let a): return "not " + render(a, parent: 3)
        case .term(let t): return t.description
        }
    }
}

extension MailboxFilter.Term: CustomStringConvertible {
    init(key: MailboxFilter.Key, checking raw: String) throws(StoreError) {
        // A subject prefix keeps its spaces ("re: "); other values do not need them.
        let value = key == .subjectPrefix ? raw : raw.trimmingCharacters(in: .whitespaces)
        guard !value.trimmingCharacters(in: .whitespaces).isEmpty else {
            throw StoreError(.invalidInput, "--filter: \(key.rawValue) needs a value")
        }
        switch key {
        case .importance:
            guard ["low", "normal", "high"].contains(value.lowercased()) else {
                throw StoreError(.invalidInput, "--filter: importance is low, normal or high, not \(value)")
            }
        case .from:
            guard value.contains("@") else { throw StoreError(.invalidInput, "--filter: from needs an address, not \(value)") }
        case .fromDomain:
            guard !value.contains("@"), !value.hasPrefix("."), !value.hasSuffix(".") else {
                throw StoreError(.invalidInput, "--filter: from-domain needs a domain such as example.com, not \(value)")
            }
        case .subjectPrefix, .category:
            break
        }
        self.init(key: key, value: key == .subjectPrefix ? value : value.lowercased())
    }

    public var description: String {
        let plain = value.allSatisfy { !$0.isWhitespace && !"():\"\\".contains($0) }
            && !["and", "or", "not"].contains(value.lowercased())
        guard !plain else { return key.rawValue + ":" + value }
        let escaped = value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
        return key.rawValue + ":\"" + escaped + "\""
    }

    func matches(_ item: MailboxFilter.Subject) -> Bool {
        switch key {
        case .from:
            return item.from?.lowercased() == value
        case .fromDomain:
            guard let address = item.from?.lowercased(), let at = address.lastIndex(of: "@") else { return false }
            let domain = address[address.index(after: at)...]
            return domain == value || domain.hasSuffix("." + value)
        case .subjectPrefix:
            return item.subject?.lowercased().hasPrefix(value.lowercased()) ?? false
        case .category:
            return item.categories.contains { $0.lowercased() == value }
        case .importance:
            return item.importance?.lowercased() == value
        }
    }
}
