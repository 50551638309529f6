/// An element of a parsed request, detached from libxml2 (so no C pointer escapes the parser).
/// Lookups go by namespace URI + local name, never by prefix, as Exchange does.
struct SimXMLNode: Sendable {
    var namespace: String?
    var localName: String
    /// Attributes by local name (EWS attributes are unqualified).
    var attributes: [String: String]
    var children: [SimXMLNode]
    /// Concatenated direct text content.
    var text: String

    func child(_ namespace: String, _ localName: String) -> SimXMLNode? {
        children.first { $0.localName == localName && $0.namespace == namespace }
    }

    func children(_ namespace: String, _ localName: String) -> [SimXMLNode] {
        children.filter { $0.localName == localName && $0.namespace == namespace }
    }

    func attribute(_ name: String) -> String? { attributes[name] }

    var trimmedText: String {
        var result = Substring(text)
        while let first = result.first, first.isWhitespace { result.removeFirst() }
        while let last = result.last, last.isWhitespace { result.removeLast() }
        return String(result)
    }

    /// Descends along (namespace, localName) steps.
    func path(_ steps: (String, String)...) -> SimXMLNode? {
        var node = self
        for (ns, name) in steps {
            guard let next = node.child(ns, name) else { return nil }
            node = next
        }
        return node
    }
}

/// Namespace URIs, spelled out here rather than taken from the codec (independent checking).
enum NS {
    static let soap = "http://schemas.xmlsoap.org/soap/envelope/"
    static let messages = "http://schemas.microsoft.com/exchange/services/2006/messages"
    static let types = "http://schemas.microsoft.com/exchange/services/2006/types"
    static let errors = "http://schemas.microsoft.com/exchange/services/2006/errors"
    static let autodiscover = "http://schemas.microsoft.com/exchange/2010/Autodiscover"
    static let addressing = "http://www.w3.org/2005/08/addressing"
    static let xsi = "http://www.w3.org/2001/XMLSchema-instance"
}
