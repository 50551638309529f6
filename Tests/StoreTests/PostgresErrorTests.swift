import Testing

@testable import Store

@Suite struct PostgresErrorTests {
    @Test(arguments: [
        ("08006", true), ("40001", true), ("40P01", true), ("57P01", true), ("57P02", true),
        ("57P03", true), ("23505", false), ("42P01", false), ("57014", false),
    ])
    func retryableSQLStates(_ sqlState: String, _ retryable: Bool) {
        let error = PostgresError(code: .server, sqlState: sqlState, message: "m", target: "h:1/d")
        #expect(error.isRetryable == retryable)
    }

    @Test func connectionCodesAreRetryable() {
        #expect(PostgresError(code: .connectionLost, target: "t").isRetryable)
        #expect(PostgresError(code: .connectionFailed, target: "t").isRetryable)
        #expect(!PostgresError(code: .poolShutdown, target: "t").isRetryable)
        #expect(!PostgresError(code: .invalidConfiguration, target: "t").isRetryable)
    }

    @Test func descriptionIsOneLine() {
        let error = PostgresError(
            code: .connectionFailed,
            message: PostgresError.oneLine(
                "connection to server at \"127.0.0.1\", port 1 failed: Connection refused\n\tIs the server running?\n"),
            target: "127.0.0.1:1/ewsfleet")
        #expect(
            error.description
                == "database 127.0.0.1:1/ewsfleet: connection failed: connection to server at \"127.0.0.1\", port 1 failed: Connection refused; Is the server running?"
        )
        let server = PostgresError(
            code: .server, sqlState: "23505", message: "duplicate key", detail: "Key (id)=(1) exists.",
            queryName: "insert item", target: "h:5432/db")
        #expect(
            server.description
                == "database h:5432/db: query 'insert item' failed [23505]: duplicate key (detail: Key (id)=(1) exists.)")
    }
}

@Suite struct ConnInfoTests {
    @Test(arguments: [
        ("postgres://u:secretpw@db.example:6543/ewsfleet", "db.example:6543/ewsfleet"),
        ("postgresql://u:secretpw@127.0.0.1/ewsfleet?sslmode=disable", "127.0.0.1:5432/ewsfleet"),
        ("host=10.0.0.1 port=5433 dbname=x user=u password=secretpw", "10.0.0.1:5433/x"),
        ("postgres://u@/ewsfleet?host=/tmp", "/tmp:5432/ewsfleet"),
        ("postgres://u:secretpw@h", "h:5432/u"),
    ])
    func targetNeverShowsPassword(_ url: String, _ target: String) {
        let configuration = PostgresConfiguration(url: url)
        #expect(configuration.target == target)
        #expect(!configuration.target.contains("secretpw"))
    }

    @Test func unparseableURLErrorDoesNotEchoTokens() throws {
        let error = try #require(throws: PostgresError.self) {
            try ConnInfo.parse("host=x password secretpw")
        }
        #expect(error.code == .invalidConfiguration)
        #expect(!error.description.contains("secretpw"))
        let uriError = try #require(throws: PostgresError.self) {
            try ConnInfo.parse("postgres://u:secret%zzpw@h/db")
        }
        #expect(!uriError.description.contains("secret"))
    }

    @Test func defaults() {
        let configuration = PostgresConfiguration(url: "postgres://h/db")
        #expect(configuration.poolSize == 4)
        #expect(configuration.connectTimeout == .seconds(5))
        #expect(configuration.reconnectBackoff.initial == .milliseconds(100))
        #expect(configuration.reconnectBackoff.maximum == .seconds(5))
    }
}
