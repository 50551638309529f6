/// A decoding failure: what went wrong, where (byte offset in the input stream) and what the
/// decoder expected there. Never contains secrets: only structural facts and short excerpts
/// of libxml2 diagnostics.
public struct EWSDecodingError: Error, Hashable, Sendable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let rawValue: String
        public init(_ rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        /// libxml2 reported a well-formedness error.
        public static let malformedXML = Code("malformedXML")
        /// A `<!DOCTYPE` was found. EWS never sends one; rejecting it stops XXE and billion laughs.
        public static let doctypeForbidden = Code("doctypeForbidden")
        public static let envelopeTooLarge = Code("envelopeTooLarge")
        public static let nestingTooDeep = Code("nestingTooDeep")
        public static let invalidUTF8 = Code("invalidUTF8")
        /// Bytes outside an envelope that are not whitespace, a comment or a processing instruction.
        public static let unexpectedContent = Code("unexpectedContent")
        /// The input ended inside an envelope (or contained no envelope where one was required).
        public static let truncated = Code("truncated")
        /// Well-formed XML whose structure is not the expected EWS/SOAP shape.
        public static let unexpectedStructure = Code("unexpectedStructure")
        /// A value could not be interpreted (e.g. a non-numeric integer).
        public static let invalidValue = Code("invalidValue")
        /// The decoder was used after it failed or finished.
        public static let decoderClosed = Code("decoderClosed")
    }

    public var code: Code
    /// Byte offset into the whole input (for streams: since the decoder was created).
    public var offset: Int
    /// What the decoder expected at that point, e.g. "'<' starting an envelope".
    public var expected: String
    /// Extra detail, e.g. libxml2's message or the element path.
    public var detail: String

    public init(code: Code, offset: Int, expected: String, detail: String = "") {
        self.code = code
        self.offset = offset
        self.expected = expected
        self.detail = detail
    }

    public var description: String {
        var text = "EWSDecodingError(\(code) at byte \(offset): expected \(expected)"
        if !detail.isEmpty { text += "; \(detail)" }
        return text + ")"
    }
}

/// Limits applied to every parsed document. EWS envelopes are small; these bound memory and
/// recursion against hostile or broken servers.
public struct XMLParserLimits: Hashable, Sendable {
    /// Maximum bytes of one envelope (one XML document), prolog excluded.
    public var maxEnvelopeBytes: Int
    /// Maximum element nesting depth (the envelope element is depth 1).
    public var maxDepth: Int

    public init(maxEnvelopeBytes: Int = 16 * 1024 * 1024, maxDepth: Int = 256) {
        self.maxEnvelopeBytes = maxEnvelopeBytes
        self.maxDepth = maxDepth
    }

    public static let `default` = XMLParserLimits()
}
