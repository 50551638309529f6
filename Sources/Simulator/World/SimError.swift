/// A refused library or control-API call. `code` is stable for callers; `message` is for people.
public struct SimError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Code: String, Sendable {
        case unknownTenant, unknownMailbox, unknownFolder, unknownItem, invalidArgument
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code.rawValue): \(message)" }
}
