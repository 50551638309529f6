/// A secret value (password, client secret, access token) that never prints itself.
///
/// `description`, `debugDescription` and reflection all show `<redacted>`, so a secret that slips
/// into a log line, an error, status output or `dump` reveals nothing. Read the value only where it
/// is sealed, handed to libcurl or put on the wire.
public struct Secret: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible,
    CustomReflectable, ExpressibleByStringLiteral
{
    /// The clear value. Named loudly so every use is easy to audit.
    public let unredactedValue: String

    public init(_ value: String) { self.unredactedValue = value }
    public init(stringLiteral value: String) { self.unredactedValue = value }

    public var isEmpty: Bool { unredactedValue.isEmpty }
    public var description: String { "<redacted>" }
    public var debugDescription: String { "Secret(<redacted>)" }
    public var customMirror: Mirror { Mirror(self, children: [], displayStyle: .struct) }
}
