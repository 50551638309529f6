/// A domain-level failure of a store operation.
public typealias StoreError = CodedError<StoreErrorCode>

public enum StoreErrorCode: String, Sendable {
    case notFound, duplicate, invalidInput
}

extension CodedError where Code == StoreErrorCode {
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
