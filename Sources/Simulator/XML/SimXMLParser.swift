import CLibXML2

/// Why a request body was refused before any operation ran.
struct SimXMLError: Error, Sendable, Equatable {
    enum Code: Sendable { case malformed, schemaViolation, forbiddenConstruct }
    var code: Code
    var line: Int
    var column: Int
    var message: String
}

/// Parses request bodies with libxml2 (network off, no entity substitution, no DTDs) and, when a
/// schema is configured, validates the parsed document before converting it into `SimXMLNode`s.
/// Parsing and validation run on the caller's thread; callers keep that off NIO event loops.
enum SimXMLParser {
    static let maxBodyBytes = 8 * 1024 * 1024

    static func parse(_ bytes: [UInt8], validator: SchemaValidator? = nil) -> Result<SimXMLNode, SimXMLError> {
        guard !bytes.isEmpty else {
            return .failure(SimXMLError(code: .malformed, line: 0, column: 0, message: "Empty request body."))
        }
        guard let ctxt = xmlNewParserCtxt() else {
            return .failure(SimXMLError(code: .malformed, line: 0, column: 0, message: "Parser unavailable."))
        }
        defer { xmlFreeParserCtxt(ctxt) }
        let options = Int32(XML_PARSE_NONET.rawValue | XML_PARSE_NOERROR.rawValue | XML_PARSE_NOWARNING.rawValue)
        let doc = bytes.withUnsafeBufferPointer { buffer in
            buffer.baseAddress!.withMemoryRebound(to: CChar.self, capacity: buffer.count) {
                xmlCtxtReadMemory(ctxt, $0, Int32(buffer.count), "request.xml", nil, options)
            }
        }
        guard let doc else {
            if let error = xmlCtxtGetLastError(ctxt) {
                return .failure(SimXMLError(
                    code: .malformed, line: Int(error.pointee.line), column: Int(error.pointee.int2),
                    message: message(of: error.pointee.message)))
            }
            return .failure(SimXMLError(code: .malformed, line: 0, column: 0, message: "Malformed XML."))
        }
        defer { xmlFreeDoc(doc) }
        // Exchange refuses DTDs outright; we never expand entities either way.
        if doc.pointee.intSubset != nil || doc.pointee.extSubset != nil {
            return .failure(SimXMLError(
                code: .forbiddenConstruct, line: 1, column: 1, message: "DTD is prohibited in this XML document."))
        }
        if let validator, let failure = validator.validate(doc) {
            return .failure(failure)
        }
        guard let root = xmlDocGetRootElement(doc) else {
            return .failure(SimXMLError(code: .malformed, line: 0, column: 0, message: "No root element."))
        }
        return .success(convert(root))
    }

    private static func message(of pointer: UnsafeMutablePointer<CChar>?) -> String {
        guard let pointer else { return "XML error." }
        var text = String(cString: pointer)
        while text.last?.isWhitespace == true { text.removeLast() }
        return text
    }

    private static func convert(_ element: xmlNodePtr) -> SimXMLNode {
        let name = String(cString: element.pointee.name)
        let namespace = element.pointee.ns?.pointee.href.map { String(cString: $0) }
        var attributes: [String: String] = [:]
        var attribute = element.pointee.properties
        while let attr = attribute {
            let attrName = String(cString: attr.pointee.name)
            // Attribute values are the text children of the attribute node (no allocation to free).
            var value = ""
            var textNode = attr.pointee.children
            while let node = textNode {
                if let content = node.pointee.content { value += String(cString: content) }
                textNode = node.pointee.next
            }
            attributes[attrName] = value
            attribute = attr.pointee.next
        }
        var children: [SimXMLNode] = []
        var text = ""
        var child = element.pointee.children
        while let node = child {
            switch node.pointee.type {
            case XML_ELEMENT_NODE:
                children.append(convert(node))
            case XML_TEXT_NODE, XML_CDATA_SECTION_NODE:
                if let content = node.pointee.content { text += String(cString: content) }
            default:
                break
            }
            child = node.pointee.next
        }
        return SimXMLNode(namespace: namespace, localName: name, attributes: attributes, children: children, text: text)
    }
}
