import CLibXML2

/// One libxml2 push parser (SAX2) that turns the bytes of ONE document into a ``FlatXMLDocument``,
/// then is reset for the next document. The ``EnvelopeFramer`` decides where documents start
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

    /// Interning key: libxml2 dictionary pointers of (local name, namespace URI).
    private struct NameKey: Hashable {
        var local: UnsafeRawPointer?
        var uri: UnsafeRawPointer?
    }

    let limits: XMLParserLimits
    private var context: xmlParserCtxtPtr?
    // Hot-path state: `@exclusivity(unchecked)` drops the dynamic exclusivity checks (measurably
    // costly per SAX event). Safe because only SAX callbacks running synchronously inside
    // `xmlParseChunk` on the owner's thread touch these, never overlapping one another.

    /// The document being built; handed out by `finish()` and reset by `begin(at:)`.
    @exclusivity(unchecked) private(set) var document = FlatXMLDocument()
    @exclusivity(unchecked) private var stack: [Int32] = []
    /// Direct-mapped cache in front of `nameIndex` (names repeat constantly; hashing does not pay).
    @exclusivity(unchecked) private var recentNames = [(key: NameKey, index: Int32)](
        repeating: (NameKey(local: nil, uri: nil), -1), count: 256)
    private var complete = false
    private var firstError: EWSDecodingError?
    /// Interned libxml2 dictionary names → index in `document.names`. Keyed by the dict pointers,
    /// valid while `context` (and its dict) lives; cleared with it.
    private var nameIndex: [NameKey: Int32] = [:]
    /// Stream offset of the first byte of the current document.
    private var baseOffset = 0

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
        document.reset()
        complete = false
        firstError = nil
        if let existing = context, nameIndex.count <= Self.maxCachedNames {
            xmlCtxtResetPush(existing, nil, 0, nil, nil)
            xmlCtxtUseOptions(existing, options)
            return
        }
        if let existing = context { xmlFreeParserCtxt(existing) }
        nameIndex.removeAll(keepingCapacity: true)
        document.names.removeAll(keepingCapacity: true)
        for slot in recentNames.indices { recentNames[slot] = (NameKey(local: nil, uri: nil), -1) }
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

    /// Ends the current document; on success ``document`` holds it (root = node 0).
    func finish() throws(EWSDecodingError) {
        guard let context else {
            throw EWSDecodingError(code: .malformedXML, offset: baseOffset, expected: "a parser context")
        }
        let status = xmlParseChunk(context, nil, 0, 1)
        if let firstError { throw firstError }
        if status != 0 { throw genericError(status) }
        guard complete else {
            throw EWSDecodingError(code: .truncated, offset: currentOffset, expected: "a complete root element")
        }
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

    private func intern(_ local: UnsafePointer<xmlChar>?, _ uri: UnsafePointer<xmlChar>?) -> Int32 {
        let key = NameKey(local: local.map(UnsafeRawPointer.init), uri: uri.map(UnsafeRawPointer.init))
        let bits = UInt(bitPattern: key.local) &>> 3 ^ UInt(bitPattern: key.uri) &>> 5
        let slot = Int(truncatingIfNeeded: bits & 255)
        if recentNames[slot].index >= 0 && recentNames[slot].key == key { return recentNames[slot].index }
        if let known = nameIndex[key] {
            recentNames[slot] = (key, known)
            return known
        }
        let localName = local.map { String(cString: $0) } ?? ""
        let namespace = uri.map { String(cString: $0) } ?? ""
        let index = Int32(document.names.count)
        document.names.append(FlatXMLDocument.Name(
            qualified: XMLName(namespace, localName), known: KnownName.byLocalName[localName] ?? .other,
            isSOAP: namespace == EWSNamespace.soap))
        nameIndex[key] = index
        recentNames[slot] = (key, index)
        return index
    }

    fileprivate func startElement(
        local: UnsafePointer<xmlChar>?, uri: UnsafePointer<xmlChar>?, attributeCount: Int,
        attributes: UnsafeMutablePointer<UnsafePointer<xmlChar>?>?
    ) {
        let attributeStart = Int32(document.attributes.count)
        if attributeCount > 0, let attributes {
            for index in 0..<attributeCount {
                let base = attributes + index * 5
                guard let valueStart = base[3], let valueEnd = base[4] else { continue }
                let start = Int32(document.bytes.count)
                appendAttributeValue(UnsafeBufferPointer(start: valueStart, count: valueEnd - valueStart))
                document.attributes.append(FlatXMLDocument.Attribute(
                    name: intern(base[0], base[2]), valueStart: start, valueEnd: Int32(document.bytes.count)))
            }
        }
        let node = Int32(document.nodes.count)
        document.nodes.append(FlatXMLDocument.Node(
            name: intern(local, uri), attributeStart: attributeStart,
            attributeCount: Int32(document.attributes.count) - attributeStart))
        if let parent = stack.last {
            let last = document.nodes[Int(parent)].lastChild
            if last >= 0 {
                document.nodes[Int(last)].nextSibling = node
            } else {
                document.nodes[Int(parent)].firstChild = node
            }
            document.nodes[Int(parent)].lastChild = node
        }
        stack.append(node)
    }

    /// Without entity substitution libxml2 hands '&' in attribute values on as "&#38;".
    private func appendAttributeValue(_ value: UnsafeBufferPointer<UInt8>) {
        guard value.contains(UInt8(ascii: "&")) else {
            document.bytes.append(contentsOf: value)
            return
        }
        let escaped: [UInt8] = Array("&#38;".utf8)
        var index = 0
        while index < value.count {
            if value[index] == UInt8(ascii: "&"), index + 5 <= value.count,
                value[index..<index + 5].elementsEqual(escaped)
            {
                document.bytes.append(UInt8(ascii: "&"))
                index += 5
            } else {
                document.bytes.append(value[index])
                index += 1
            }
        }
    }

    fileprivate func endElement() {
        _ = stack.popLast()
        if stack.isEmpty { complete = true }
    }

    fileprivate func characters(_ bytes: UnsafePointer<xmlChar>?, _ count: Int32) {
        guard let bytes, count > 0, let node = stack.last else { return }
        // Mixed content is not modelled: text after the first child element is dropped, which
        // keeps each element's text one contiguous byte range.
        guard document.nodes[Int(node)].firstChild < 0 else { return }
        if document.nodes[Int(node)].textStart < 0 {
            document.nodes[Int(node)].textStart = Int32(document.bytes.count)
        } else if document.nodes[Int(node)].textEnd != Int32(document.bytes.count) {
            return  // not contiguous (cannot happen before a child; defensive)
        }
        document.bytes.append(contentsOf: UnsafeBufferPointer(start: bytes, count: Int(count)))
        document.nodes[Int(node)].textEnd = Int32(document.bytes.count)
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
