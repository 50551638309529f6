import CLibXML2

/// One libxml2 push parser (SAX2) that turns the bytes of ONE document into an ``EWSXMLElement``
/// tree, then is reset for the next document. The ``EnvelopeFramer`` decides where documents start
/// and end, so libxml2 never sees a second root element.
///
/// Hardening: no tree is built by libxml2 (SAX only), options are `XML_PARSE_NONET` and never
/// `NOENT`/`DTDLOAD`; DOCTYPE and entity declarations are refused by the framer and again here;
/// errors go to a per-context structured handler so libxml2 prints nothing.
///
/// Not thread-safe; owned by one decoder at a time (callers' decoders are not `Sendable`).
final class LibXML2PushParser {
    private static let initialized: Bool = {
        xmlInitParser()
        return true
    }()

    private struct Frame {
        var name: XMLName
        var attributes: [XMLAttribute]
        var children: [EWSXMLElement] = []
        var text: [UInt8] = []
    }

    let limits: XMLParserLimits
    private var context: xmlParserCtxtPtr?
    private var stack: [Frame] = []
    private var root: EWSXMLElement?
    private var firstError: EWSDecodingError?
    /// Interned libxml2 dictionary strings (element/attribute names, namespace URIs) → Swift.
    /// Keyed by the dict pointer, valid while `context` (and its dict) lives; cleared with it.
    private var names: [UnsafeRawPointer: String] = [:]
    /// Stream offset of the first byte of the current document.
    private var baseOffset = 0
    private var documentsParsed = 0

    /// Recreate the context after this many distinct names so a hostile stream of unique names
    /// cannot grow libxml2's dictionary (and our cache) without bound.
    private static let maxCachedNames = 4096

    init(limits: XMLParserLimits) {
        _ = Self.initialized
        self.limits = limits
    }

    deinit {
        if let context { xmlFreeParserCtxt(context) }
    }

    private var options: Int32 {
        var options = Int32(XML_PARSE_NONET.rawValue) | Int32(XML_PARSE_NOCDATA.rawValue)
        // libxml2's own caps are 256 levels and 10 MB lookahead; our framer enforces the
        // configured limits before libxml2 sees the bytes, so lift libxml2's only when needed.
        if limits.maxDepth > 256 || limits.maxEnvelopeBytes > 10_000_000 {
            options |= Int32(XML_PARSE_HUGE.rawValue)
        }
        return options
    }

    /// Starts a new document whose first byte is at `offset` in the stream.
    func begin(at offset: Int) {
        ewsfleet_libxml2_silence()
        baseOffset = offset
        stack.removeAll(keepingCapacity: true)
        root = nil
        firstError = nil
        if let existing = context, names.count <= Self.maxCachedNames {
            xmlCtxtResetPush(existing, nil, 0, nil, nil)
            xmlCtxtUseOptions(existing, options)
            return
        }
        if let existing = context { xmlFreeParserCtxt(existing) }
        names.removeAll(keepingCapacity: true)
        var handler = Self.makeHandler()
        let me = Unmanaged.passUnretained(self).toOpaque()
        context = xmlCreatePushParserCtxt(&handler, me, nil, 0, nil)
        if let context { xmlCtxtUseOptions(context, options) }
    }

    /// Feeds bytes of the current document.
    func feed(_ bytes: UnsafeBufferPointer<UInt8>) throws(EWSDecodingError) {
        guard let context, let base = bytes.baseAddress else { return }
        var offset = 0
        // Slices keep libxml2's unconsumed input small even when one call carries a big envelope.
        while offset < bytes.count {
            let length = min(bytes.count - offset, 256 * 1024)
            let raw = UnsafeRawPointer(base + offset).assumingMemoryBound(to: CChar.self)
            let status = xmlParseChunk(context, raw, Int32(length), 0)
            if let firstError { throw firstError }
            if status != 0 { throw genericError(status) }
            offset += length
        }
    }

    /// Ends the current document and returns its root element.
    func finish() throws(EWSDecodingError) -> EWSXMLElement {
        guard let context else {
            throw EWSDecodingError(code: .malformedXML, offset: baseOffset, expected: "a parser context")
        }
        let status = xmlParseChunk(context, nil, 0, 1)
        if let firstError { throw firstError }
        if status != 0 { throw genericError(status) }
        guard let root else {
            throw EWSDecodingError(code: .truncated, offset: currentOffset, expected: "a complete root element")
        }
        self.root = nil
        documentsParsed += 1
        return root
    }

    private var currentOffset: Int {
        guard let context else { return baseOffset }
        return baseOffset + Int(xmlByteConsumed(context))
    }

    private func genericError(_ status: Int32) -> EWSDecodingError {
        EWSDecodingError(code: .malformedXML, offset: currentOffset, expected: "well-formed XML",
            detail: "libxml2 error \(status)")
    }

    // MARK: SAX events

    private func name(_ pointer: UnsafePointer<xmlChar>?) -> String {
        guard let pointer else { return "" }
        let key = UnsafeRawPointer(pointer)
        if let known = names[key] { return known }
        let value = String(cString: pointer)
        names[key] = value
        return value
    }

    fileprivate func startElement(
        local: UnsafePointer<xmlChar>?, uri: UnsafePointer<xmlChar>?, attributeCount: Int,
        attributes: UnsafeMutablePointer<UnsafePointer<xmlChar>?>?
    ) {
        var decoded: [XMLAttribute] = []
        if attributeCount > 0, let attributes {
            decoded.reserveCapacity(attributeCount)
            for index in 0..<attributeCount {
                let base = attributes + index * 5
                guard let valueStart = base[3], let valueEnd = base[4] else { continue }
                let buffer = UnsafeBufferPointer(start: valueStart, count: valueEnd - valueStart)
                var value = String(decoding: buffer, as: UTF8.self)
                // Without entity substitution libxml2 hands '&' in attribute values on as "&#38;".
                if buffer.contains(UInt8(ascii: "&")) { value = value.replacing("&#38;", with: "&") }
                decoded.append(XMLAttribute(name: XMLName(name(base[2]), name(base[0])), value: value))
            }
        }
        stack.append(Frame(name: XMLName(name(uri), name(local)), attributes: decoded))
    }

    fileprivate func endElement() {
        guard let frame = stack.popLast() else { return }
        var text = ""
        if !frame.text.isEmpty {
            let significant = frame.children.isEmpty
                || frame.text.contains { !($0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09) }
            if significant { text = String(decoding: frame.text, as: UTF8.self) }
        }
        let element = EWSXMLElement(name: frame.name, attributes: frame.attributes, children: frame.children, text: text)
        if stack.isEmpty {
            root = element
        } else {
            stack[stack.count - 1].children.append(element)
        }
    }

    fileprivate func characters(_ bytes: UnsafePointer<xmlChar>?, _ count: Int32) {
        guard let bytes, count > 0, !stack.isEmpty else { return }
        stack[stack.count - 1].text.append(contentsOf: UnsafeBufferPointer(start: bytes, count: Int(count)))
    }

    fileprivate func recordError(_ error: UnsafeMutablePointer<xmlError>?) {
        guard firstError == nil else { return }
        if let error, error.pointee.level == XML_ERR_WARNING { return }
        var message = "unknown libxml2 error"
        var code: EWSDecodingError.Code = .malformedXML
        if let error {
            if let text = error.pointee.message {
                message = String(cString: text).trimmingSuffix()
            }
            if message.contains("UTF-8") || error.pointee.code == Int32(XML_ERR_INVALID_ENCODING.rawValue) {
                code = .invalidUTF8
            }
            message += " (line \(error.pointee.line), column \(error.pointee.int2))"
        }
        firstError = EWSDecodingError(code: code, offset: currentOffset,
            expected: code == .invalidUTF8 ? "valid UTF-8" : "well-formed XML", detail: message)
    }

    fileprivate func refuseDTD() {
        if firstError == nil {
            firstError = EWSDecodingError(code: .doctypeForbidden, offset: currentOffset,
                expected: "no DOCTYPE or entity declarations")
        }
        if let context { xmlStopParser(context) }
    }

    private static func makeHandler() -> xmlSAXHandler {
        var handler = xmlSAXHandler()
        handler.initialized = UInt32(XML_SAX2_MAGIC)
        handler.startElementNs = { context, local, _, uri, _, _, attributeCount, _, attributes in
            guard let context else { return }
            let parser = Unmanaged<LibXML2PushParser>.fromOpaque(context).takeUnretainedValue()
            parser.startElement(local: local, uri: uri, attributeCount: Int(attributeCount), attributes: attributes)
        }
        handler.endElementNs = { context, _, _, _ in
            guard let context else { return }
            Unmanaged<LibXML2PushParser>.fromOpaque(context).takeUnretainedValue().endElement()
        }
        let characters: charactersSAXFunc = { context, bytes, count in
            guard let context else { return }
            Unmanaged<LibXML2PushParser>.fromOpaque(context).takeUnretainedValue().characters(bytes, count)
        }
        handler.characters = characters
        handler.cdataBlock = characters
        handler.serror = { context, error in
            guard let context else { return }
            Unmanaged<LibXML2PushParser>.fromOpaque(context).takeUnretainedValue().recordError(error)
        }
        handler.internalSubset = { context, _, _, _ in
            guard let context else { return }
            Unmanaged<LibXML2PushParser>.fromOpaque(context).takeUnretainedValue().refuseDTD()
        }
        handler.entityDecl = { context, _, _, _, _, _ in
            guard let context else { return }
            Unmanaged<LibXML2PushParser>.fromOpaque(context).takeUnretainedValue().refuseDTD()
        }
        return handler
    }
}

extension String {
    fileprivate func trimmingSuffix() -> String {
        var result = self
        while let last = result.last, last.isWhitespace { result.removeLast() }
        return result
    }
}
