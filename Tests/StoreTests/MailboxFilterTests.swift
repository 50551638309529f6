import Testing

@testable import Store

@Suite struct MailboxFilterTests {
    static func item(from: String? = "ann@vendor.example", subject: String? = "Invoice 7", categories: [String] = [],
                     importance: String? = "Normal") -> MailboxFilter.Subject {
        MailboxFilter.Subject(from: from, subject: subject, categories: categories, importance: importance)
    }

    @Test func theIssuesExampleMatchesADomainAndItsSubdomainsOnly() throws {
        let filter = try MailboxFilter(parsing: "from-domain:vendor.example and importance:high")
        #expect(filter.description == "from-domain:vendor.example and importance:high")
        #expect(filter.matches(Self.item(importance: "High")))
        #expect(filter.matches(Self.item(from: "Bob@Mail.Vendor.Example", importance: "high")))
        #expect(!filter.matches(Self.item(from: "eve@notvendor.example", importance: "High")), "a suffix, not a substring")
        #expect(!filter.matches(Self.item(importance: "Normal")))
        #expect(!filter.matches(Self.item(from: nil, importance: "High")))
    }

    @Test func andBindsTighterThanOrAndParenthesesAndNotWork() throws {
        let filter = try MailboxFilter(parsing: "importance:low OR category:vendor AND NOT subject-prefix:\"re: \"")
        #expect(filter.description == "importance:low or category:vendor and not subject-prefix:\"re: \"")
        #expect(filter.matches(Self.item(importance: "Low")))
        #expect(filter.matches(Self.item(subject: "Invoice", categories: ["VENDOR"])))
        #expect(!filter.matches(Self.item(subject: "RE: Invoice", categories: ["Vendor"])))
        let grouped = try MailboxFilter(parsing: "(importance:low or category:vendor) and not subject-prefix:\"re: \"")
        #expect(grouped.description == "(importance:low or category:vendor) and not subject-prefix:\"re: \"")
        #expect(!grouped.matches(Self.item(subject: "Re: x", importance: "Low")))
    }

    @Test func theCanonicalTextParsesBackToTheSameFilter() throws {
        for text in ["from:ann@vendor.example", "not (importance:high or importance:low)",
                     "subject-prefix:\"[ext] say \\\"hi\\\"\" and category:\"Big deal\"", "category:and"] {
            let filter = try MailboxFilter(parsing: text)
            #expect(try MailboxFilter(parsing: filter.description) == filter, "\(text) → \(filter)")
        }
    }

    @Test(arguments: [
        ("", "empty"), ("importance", "needs a value"), ("importance:urgent", "low, normal or high"),
        ("sender:a@b.c", "unknown key sender"), ("from:nobody", "needs an address"), ("from-domain:a@b.c", "domain"),
        ("(importance:high", "not closed"), ("importance:high)", "unexpected"), ("subject-prefix:\"open", "not closed"),
        ("importance:high importance:low", "unexpected"), ("and importance:high", "unknown key and"),
    ])
    func badFiltersAreOneClearError(text: String, says: String) {
        do {
            _ = try MailboxFilter(parsing: text)
            Issue.record("accepted \(text)")
        } catch {
            #expect(error.message.contains(says), "\(text): \(error.message)")
        }
    }

    @Test func hostileInputIsBounded() {
        let deep = String(repeating: "(", count: 40) + "importance:high" + String(repeating: ")", count: 40)
        #expect(throws: StoreError.self) { try MailboxFilter(parsing: deep) }
        let nots = String(repeating: "not ", count: 40) + "importance:high"
        #expect(throws: StoreError.self) { try MailboxFilter(parsing: nots) }
        let many = (0..<40).map { "category:c\($0)" }.joined(separator: " or ")
        #expect(throws: StoreError.self) { try MailboxFilter(parsing: many) }
        #expect(throws: StoreError.self) { try MailboxFilter(parsing: String(repeating: "x", count: 1001)) }
    }
}
