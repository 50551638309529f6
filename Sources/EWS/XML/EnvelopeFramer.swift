/// Finds document (envelope) boundaries in a byte stream *before* libxml2 sees the bytes.
///
/// Why: a GetStreamingEvents body is many root elements back to back. libxml2 2.9 treats a second
/// root as the fatal "Extra content" error, and a push context cannot be reset from inside its own
/// SAX callback. So this scanner tracks just enough lexical state (tags, quotes, comments, CDATA,
/// processing instructions, depth) to know where each root element ends; the bytes of one root
/// element are fed to one libxml2 parse, and prolog bytes between roots are dropped.
///
/// It also enforces the cheap safety limits early: DOCTYPE is rejected on sight, and size and depth
/// limits trip before libxml2 allocates anything for them.
struct EnvelopeFramer {
    enum State: UInt8 {
        case content, lessThan, startTag, endTag, processingInstruction, bang, comment, cdata
    }

    /// What happened in one call to ``scan(_:from:)``.
    enum Step: Equatable {
        /// The root element's `<` is at `lessThan` (-1: it was the last byte of the previous
        /// chunk). Bytes from there on belong to the document; scanning resumes at `resume`.
        case rootStarts(lessThan: Int, resume: Int)
        /// The root element ends just before this index (exclusive end).
        case rootEnds(Int)
        /// The whole rest of the buffer was consumed without a boundary.
        case needMore
    }

    let limits: XMLParserLimits
    private(set) var state: State = .content
    /// Element depth; the root element is depth 1. 0 means "between documents".
    private(set) var depth = 0
    private var quote: UInt8 = 0
    private var previous: UInt8 = 0
    private var runLength = 0
    private var bangMatched = 0
    private var bangTarget: [UInt8] = []
    /// Bytes of the current document so far (prolog excluded).
    private var documentBytes = 0
    /// Stream offset of byte 0 of the buffer being scanned.
    var baseOffset = 0
    /// UTF-8 validation of prolog bytes (comments/PIs between envelopes), which libxml2 never
    /// sees: continuation bytes still expected and the allowed range of the next one.
    private var utf8Pending = 0
    private var utf8Lower: UInt8 = 0x80
    private var utf8Upper: UInt8 = 0xBF
    /// Bytes of a UTF-8 byte order mark matched so far (only EF BB BF is accepted).
    private var bomMatched = 0

    init(limits: XMLParserLimits) { self.limits = limits }

    /// True when the stream is at a clean boundary (no partial document or markup pending).
    var isAtBoundary: Bool { depth == 0 && state == .content && bomMatched == 0 }

    private static let lt = UInt8(ascii: "<"), gt = UInt8(ascii: ">"), slash = UInt8(ascii: "/")
    private static let question = UInt8(ascii: "?"), exclamation = UInt8(ascii: "!")
    private static let dash = UInt8(ascii: "-"), bracket = UInt8(ascii: "]")
    private static let byteOrderMark: [UInt8] = [0xEF, 0xBB, 0xBF]

    mutating func scan(_ buffer: UnsafeBufferPointer<UInt8>, from start: Int) throws(EWSDecodingError) -> Step {
        var index = start
        let count = buffer.count
        while index < count {
            let byte = buffer[index]
            switch state {
            case .content:
                if depth == 0 {
                    if bomMatched > 0 || byte == 0xEF {
                        guard byte == Self.byteOrderMark[bomMatched] else {
                            throw error(.invalidUTF8, at: index, expected: "a complete UTF-8 byte order mark")
                        }
                        bomMatched = (bomMatched + 1) % 3
                    } else if byte == Self.lt {
                        state = .lessThan
                    } else if !(byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09) {
                        throw error(.unexpectedContent, at: index, expected: "'<' starting an envelope, or whitespace")
                    }
                    index += 1
                    continue
                }
                // Inside a document: jump straight to the next '<'.
                var next = index
                while next < count && buffer[next] != Self.lt { next += 1 }
                let foundTag = next < count
                if foundTag { next += 1 }  // the '<' itself
                try account(next - index, endingBefore: next)
                if foundTag { state = .lessThan }
                index = next
                continue
            case .lessThan:
                if depth == 0 {
                    if byte == Self.question {
                        state = .processingInstruction; previous = 0
                    } else if byte == Self.exclamation {
                        beginBang()
                    } else if Self.isNameStart(byte) {
                        documentBytes = 1
                        state = .startTag; quote = 0; previous = Self.lt
                        return .rootStarts(lessThan: index - 1, resume: index)
                    } else {
                        throw error(.unexpectedContent, at: index, expected: "an element name, '?' or '!' after '<'")
                    }
                } else {
                    switch byte {
                    case Self.slash: state = .endTag
                    case Self.question: state = .processingInstruction; previous = 0
                    case Self.exclamation: beginBang()
                    default: state = .startTag; quote = 0; previous = byte
                    }
                    try account(1, endingBefore: index + 1)
                }
                index += 1
            case .startTag:
                // Tight loop over the tag body; only quotes and '>' matter.
                let runStart = index
                while index < count {
                    let b = buffer[index]
                    index += 1
                    if quote != 0 {
                        if b == quote { quote = 0 }
                    } else if b == 0x22 || b == 0x27 {
                        quote = b
                    } else if b == Self.gt {
                        try account(index - runStart, endingBefore: index)
                        state = .content
                        if previous == Self.slash {
                            if depth == 0 { return .rootEnds(index) }
                        } else {
                            depth += 1
                            if depth > limits.maxDepth {
                                throw error(.nestingTooDeep, at: index - 1,
                                    expected: "element depth at most \(limits.maxDepth)")
                            }
                        }
                        break
                    }
                    previous = b
                }
                if state == .startTag { try account(index - runStart, endingBefore: index) }
                continue
            case .endTag:
                if byte == Self.gt {
                    state = .content
                    depth -= 1
                    index += 1
                    try account(1, endingBefore: index)
                    if depth == 0 { return .rootEnds(index) }
                    continue
                }
                try account(1, endingBefore: index + 1)
                index += 1
            case .processingInstruction:
                if byte == Self.gt && previous == Self.question { state = .content }
                previous = byte
                if depth > 0 { try account(1, endingBefore: index + 1) } else { try checkUTF8(byte, at: index) }
                index += 1
            case .bang:
                if bangTarget.isEmpty {
                    switch byte {
                    case Self.dash: bangTarget = Array("--".utf8)
                    case UInt8(ascii: "["): bangTarget = Array("[CDATA[".utf8)
                    case UInt8(ascii: "D"), UInt8(ascii: "d"):
                        throw error(.doctypeForbidden, at: index - 2,
                            expected: "no DOCTYPE (EWS never sends one; DTDs and entities are refused)")
                    default:
                        throw error(.unexpectedContent, at: index, expected: "'<!--' or '<![CDATA['")
                    }
                }
                guard byte == bangTarget[bangMatched] else {
                    throw error(.unexpectedContent, at: index, expected: "'<!--' or '<![CDATA['")
                }
                bangMatched += 1
                if bangMatched == bangTarget.count {
                    if bangTarget.count == 2 {
                        state = .comment
                    } else {
                        if depth == 0 {
                            throw error(.unexpectedContent, at: index, expected: "CDATA only inside an element")
                        }
                        state = .cdata
                    }
                    runLength = 0
                }
                if depth > 0 { try account(1, endingBefore: index + 1) }
                index += 1
            case .comment:
                if byte == Self.gt && runLength >= 2 { state = .content }
                runLength = byte == Self.dash ? runLength + 1 : 0
                if depth > 0 { try account(1, endingBefore: index + 1) } else { try checkUTF8(byte, at: index) }
                index += 1
            case .cdata:
                if byte == Self.gt && runLength >= 2 { state = .content }
                runLength = byte == Self.bracket ? runLength + 1 : 0
                try account(1, endingBefore: index + 1)
                index += 1
            }
        }
        return .needMore
    }

    /// Incremental UTF-8 check (RFC 3629: no overlongs, surrogates or values above U+10FFFF).
    private mutating func checkUTF8(_ byte: UInt8, at index: Int) throws(EWSDecodingError) {
        if utf8Pending > 0 {
            guard byte >= utf8Lower && byte <= utf8Upper else {
                throw error(.invalidUTF8, at: index, expected: "a UTF-8 continuation byte")
            }
            utf8Pending -= 1
            (utf8Lower, utf8Upper) = (0x80, 0xBF)
            return
        }
        switch byte {
        case 0x00..<0x80: return
        case 0xC2...0xDF: utf8Pending = 1
        case 0xE0: (utf8Pending, utf8Lower) = (2, 0xA0)
        case 0xED: (utf8Pending, utf8Upper) = (2, 0x9F)
        case 0xE1...0xEF: utf8Pending = 2
        case 0xF0: (utf8Pending, utf8Lower) = (3, 0x90)
        case 0xF4: (utf8Pending, utf8Upper) = (3, 0x8F)
        case 0xF1...0xF3: utf8Pending = 3
        default: throw error(.invalidUTF8, at: index, expected: "a UTF-8 lead byte")
        }
    }

    private mutating func beginBang() {
        state = .bang
        bangMatched = 0
        bangTarget = []
    }

    /// Counts `bytes` document bytes that end just before buffer index `end`.
    private mutating func account(_ bytes: Int, endingBefore end: Int) throws(EWSDecodingError) {
        documentBytes += bytes
        if documentBytes > limits.maxEnvelopeBytes {
            // Offset of the first byte beyond the limit.
            let first = end - (documentBytes - limits.maxEnvelopeBytes)
            throw error(.envelopeTooLarge, at: first, expected: "an envelope of at most \(limits.maxEnvelopeBytes) bytes")
        }
    }

    private func error(_ code: EWSDecodingError.Code, at index: Int, expected: String) -> EWSDecodingError {
        EWSDecodingError(code: code, offset: baseOffset + index, expected: expected)
    }

    private static func isNameStart(_ byte: UInt8) -> Bool {
        (byte >= 0x61 && byte <= 0x7A) || (byte >= 0x41 && byte <= 0x5A) || byte == 0x5F || byte == 0x3A || byte >= 0x80
    }
}
