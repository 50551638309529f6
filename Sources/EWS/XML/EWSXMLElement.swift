/// A namespace-qualified XML name: namespace URI (empty when none) plus local name.
public struct XMLName: Hashable, Sendable, CustomStringConvertible {
    public var namespace: String
    public var local: String

    public init(_ namespace: String, _ local: String) {
        self.namespace = namespace
        self.local = local
    }

    public var description: String { namespace.isEmpty ? local : "{\(namespace)}\(local)" }
}

/// An attribute of an ``EWSXMLElement``.
public struct XMLAttribute: Hashable, Sendable {
    public var name: XMLName
    public var value: String
}

/// A small, immutable-by-convention element tree produced by the hardened libxml2 parser.
/// No libxml2 type crosses the module boundary: this is plain Swift data, `Sendable`.
/// Mixed content is not modelled (EWS has none): `text` is the character data directly inside the
/// element before its first child element; for elements with children, whitespace-only text
/// (pretty-printing) is dropped.
public struct EWSXMLElement: Hashable, Sendable {
    public var name: XMLName
    public var attributes: [XMLAttribute]
    public var children: [EWSXMLElement]
    public var text: String

    public init(
        name: XMLName, attributes: [XMLAttribute] = [], children: [EWSXMLElement] = [], text: String = ""
    ) {
        self.name = name
        self.attributes = attributes
        self.children = children
        self.text = text
    }

    public var localName: String { name.local }
    public var namespace: String { name.namespace }

    /// The value of an unqualified attribute (EWS attributes such as `Id`, `ChangeKey`,
    /// `ResponseClass` carry no namespace).
    public func attribute(_ local: String, namespace: String = "") -> String? {
        for attribute in attributes where attribute.name.local == local && attribute.name.namespace == namespace {
            return attribute.value
        }
        return nil
    }

    /// First child with this local name whose namespace is one of `namespaces`.
    public func child(_ local: String, in namespaces: Set<String>) -> EWSXMLElement? {
        children.first { $0.name.local == local && namespaces.contains($0.name.namespace) }
    }

    /// First child with this exact namespace and local name.
    public func child(_ local: String, namespace: String) -> EWSXMLElement? {
        children.first { $0.name.local == local && $0.name.namespace == namespace }
    }

    /// All children with this local name whose namespace is one of `namespaces`.
    public func children(_ local: String, in namespaces: Set<String>) -> [EWSXMLElement] {
        children.filter { $0.name.local == local && namespaces.contains($0.name.namespace) }
    }

    /// Tolerant lookup for children of known EWS elements: by local name only. Servers put
    /// elements in `m:` where the XSD says `t:` (fact sheet §3.6), and some omit the namespace of
    /// a child (which then inherits whatever default namespace is in scope, even SOAP's), so
    /// inside a parent already matched by namespace the local name decides.
    public func ewsChild(_ local: String) -> EWSXMLElement? { children.first { $0.name.local == local } }

    /// All tolerant matches (see ``ewsChild(_:)``).
    public func ewsChildren(_ local: String) -> [EWSXMLElement] { children.filter { $0.name.local == local } }

    /// The children of a tolerant child (a list such as `m:Items` or `m:Changes`); empty when
    /// the list is absent.
    public func ewsList(_ local: String) -> [EWSXMLElement] { ewsChild(local)?.children ?? [] }

    /// Text of a tolerant child, trimmed of surrounding XML whitespace.
    public func ewsText(_ local: String) -> String? { ewsChild(local)?.trimmedText }

    /// `text` without leading/trailing XML whitespace (pretty-printed servers indent values).
    public var trimmedText: String {
        let utf8 = text.utf8
        let isSpace: (UInt8) -> Bool = { $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }
        guard let first = utf8.firstIndex(where: { !isSpace($0) }) else { return "" }
        if first == utf8.startIndex, let lastByte = utf8.last, !isSpace(lastByte) { return text }
        let last = utf8.lastIndex(where: { !isSpace($0) })!
        return String(text[first...last])
    }
}
