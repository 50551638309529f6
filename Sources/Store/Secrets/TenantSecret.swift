/// A password, client secret or token in memory. Its descriptions are redacted so it can never reach a
/// log line, an error or status output by accident; code that needs the value calls `reveal()`.
public struct TenantSecret: Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible,
    CustomReflectable
{
    private let value: String

    public init(_ value: String) { self.value = value }

    public func reveal() -> String { value }
    public var isEmpty: Bool { value.isEmpty }
    public var description: String { "<redacted>" }
    public var debugDescription: String { "<redacted>" }
    public var customMirror: Mirror { Mirror(self, children: []) }
}
