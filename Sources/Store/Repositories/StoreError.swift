/// A domain-level failure of a store operation, phrased for an operator (the CLI prints it as is).
public struct StoreError: Error, CustomStringConvertible, Sendable, Equatable {
    public enum Code: String, Sendable {
        case notFound, duplicate, invalidInput
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }

    /// Maps constraint violations to a clear domain error; anything else is rethrown unchanged.
    static func translating<T>(_ what: String, _ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as PostgresError where error.sqlState == "23505" {
            throw StoreError(.duplicate, "\(what) already exists")
        } catch let error as PostgresError where error.sqlState == "23514" || error.sqlState == "22P02" {
            throw StoreError(.invalidInput, "\(what) is invalid: \(error.message)")
        }
    }
}
