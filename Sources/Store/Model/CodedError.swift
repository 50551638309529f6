/// A domain failure phrased for an operator: a code to branch on and a message the CLI prints as
/// is. The store's and the keyring's errors are this one shape with their own codes.
public struct CodedError<Code: RawRepresentable & Sendable & Equatable>: Error, CustomStringConvertible, Sendable, Equatable {
    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}
