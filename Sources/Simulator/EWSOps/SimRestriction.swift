/// `m:Restriction` of a FindItem, as Exchange evaluates it, over the properties ews-sim's items
/// have: And, Or, Not, IsEqualTo (with a constant), Contains (FullString, Prefixed or Substring;
/// IgnoreCase or Exact) on item:Subject, item:Importance, item:Categories (any value),
/// message:From / message:Sender (the address) and message:IsRead ("true" or "false"). Anything
/// else is refused as Exchange refuses a path it cannot query.
indirect enum SimRestriction: Sendable {
    case and([SimRestriction]), or([SimRestriction]), not(SimRestriction)
    case compare(field: String, value: String, mode: String, ignoreCase: Bool)

    static let unsupported = EWSCodeError(code: "ErrorUnsupportedPathForQuery",
                                          message: "The property path is not supported for a query restriction.")
    static let invalid = EWSCodeError(code: "ErrorInvalidRestriction", message: "The restriction is invalid.")
    /// Unread items (Outlook's "Unread Mail").
    static let unread = SimRestriction.compare(field: "message:IsRead", value: "false", mode: "FullString", ignoreCase: true)

    init(_ node: SimXMLNode) throws(EWSCodeError) {
        let operands = node.children.filter { $0.namespace == NS.types }
        switch node.localName {
        case "And", "Or":
            guard !operands.isEmpty else { throw Self.invalid }
            var parts: [SimRestriction] = []
            for operand in operands { parts.append(try SimRestriction(operand)) }
            self = node.localName == "And" ? .and(parts) : .or(parts)
        case "Not":
            guard operands.count == 1 else { throw Self.invalid }
            self = .not(try SimRestriction(operands[0]))
        case "IsEqualTo", "Contains":
            guard let field = node.child(NS.types, "FieldURI")?.attribute("FieldURI") else { throw Self.unsupported }
            guard ["item:Subject", "item:Importance", "item:Categories", "message:From", "message:Sender", "message:IsRead"]
                .contains(field) else {
                throw Self.unsupported
            }
            let constant = node.localName == "IsEqualTo"
                ? node.child(NS.types, "FieldURIOrConstant")?.child(NS.types, "Constant")
                : node.child(NS.types, "Constant")
            guard let value = constant?.attribute("Value") else { throw Self.invalid }
            let mode = node.localName == "IsEqualTo" ? "FullString" : node.attribute("ContainmentMode") ?? "FullString"
            let comparison = node.localName == "IsEqualTo" ? "IgnoreCase" : node.attribute("ContainmentComparison") ?? "Exact"
            self = .compare(field: field, value: value, mode: mode, ignoreCase: comparison.hasPrefix("IgnoreCase"))
        default:
            throw Self.unsupported
        }
    }

    func matches(_ mailbox: Mailbox, _ item: Item) -> Bool {
        switch self {
        case .and(let parts): return parts.allSatisfy { $0.matches(mailbox, item) }
        case .or(let parts): return parts.contains { $0.matches(mailbox, item) }
        case .not(let part): return !part.matches(mailbox, item)
        case .compare(let field, let value, let mode, let ignoreCase):
            let values: [String] =
                switch field {
                case "item:Subject": [item.subject]
                case "item:Importance": [ItemContent.importance(item)]
                case "item:Categories": ItemContent.categories(item)
                case "message:IsRead": [item.isRead ? "true" : "false"]
                default: [item.sender]
                }
            let wanted = ignoreCase ? value.lowercased() : value
            return values.contains { raw in
                let have = ignoreCase ? raw.lowercased() : raw
                switch mode {
                case "Prefixed": return have.hasPrefix(wanted)
                case "Substring": return have.contains(wanted)
                default: return have == wanted
                }
            }
        }
    }
}
