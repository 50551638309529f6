/// Splits a byte stream into root elements (``EnvelopeFramer``) and parses each with one reused
/// libxml2 push parser. Memory is bounded by one document: libxml2 discards consumed input and
/// the tree of a document is handed out as soon as its end tag arrives.
///
/// Not thread-safe: one owner feeds it (it is wrapped by non-Sendable decoders).
final class XMLDocumentStream {
    private var framer: EnvelopeFramer
    private let parser: LibXML2PushParser
    /// Stream offset of the next byte to be fed.
    private(set) var offset = 0
    private var insideDocument = false
    private var failure: EWSDecodingError?

    init(limits: XMLParserLimits) {
        framer = EnvelopeFramer(limits: limits)
        parser = LibXML2PushParser(limits: limits)
    }

    /// Feeds a chunk; calls `emit` for every root element completed by it, in order.
    /// The document passed to `emit` is only valid during the call.
    func feed(_ bytes: UnsafeBufferPointer<UInt8>, emit: (FlatXMLDocument) throws(EWSDecodingError) -> Void)
        throws(EWSDecodingError)
    {
        if let failure { throw closed(failure) }
        do {
            try feedUnchecked(bytes, emit: emit)
        } catch {
            failure = error
            throw error
        }
    }

    /// Declares the end of input. Throws `.truncated` if a document (or markup) is still open.
    func finish() throws(EWSDecodingError) {
        if let failure { throw closed(failure) }
        if insideDocument || !framer.isAtBoundary {
            let error = EWSDecodingError(code: .truncated, offset: offset,
                expected: insideDocument ? "the end tag of the open envelope" : "the end of the open markup")
            failure = error
            throw error
        }
    }

    private func closed(_ failure: EWSDecodingError) -> EWSDecodingError {
        EWSDecodingError(code: .decoderClosed, offset: offset, expected: "no further input after an error",
            detail: "earlier error: \(failure)")
    }

    private func feedUnchecked(
        _ bytes: UnsafeBufferPointer<UInt8>, emit: (FlatXMLDocument) throws(EWSDecodingError) -> Void
    ) throws(EWSDecodingError) {
        framer.baseOffset = offset
        var index = 0
        var documentStart = 0
        let count = bytes.count
        while index < count {
            switch try framer.scan(bytes, from: index) {
            case .rootStarts(let lessThan, let resume):
                parser.begin(at: offset + lessThan)
                if lessThan < 0 {
                    // The '<' closed the previous chunk, where it was still taken for prolog.
                    let lt: [UInt8] = [UInt8(ascii: "<")]
                    try lt.withUnsafeBufferPointer { (buffer) throws(EWSDecodingError) in try parser.feed(buffer) }
                }
                documentStart = max(lessThan, 0)
                insideDocument = true
                index = resume
            case .rootEnds(let end):
                try parser.feed(UnsafeBufferPointer(rebasing: bytes[documentStart..<end]))
                insideDocument = false
                try parser.finish()
                index = end
                do {
                    try emit(parser.document)
                } catch {
                    // Structural errors found while decoding know no byte position; point at
                    // the end of the envelope they were found in.
                    var located = error
                    if located.offset == 0 { located.offset = offset + end }
                    throw located
                }
            case .needMore:
                if insideDocument {
                    try parser.feed(UnsafeBufferPointer(rebasing: bytes[documentStart..<count]))
                }
                index = count
            }
        }
        offset += count
    }
}
