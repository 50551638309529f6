import Foundation

/// A property a change can carry in `changes.properties`, named by its JSON key there.
public enum ItemField: String, CaseIterable, Sendable, Comparable {
    // The default set: what ewsfleet recorded before profiles existed (the mirror's own columns).
    case subject, sender, receivedAt = "received_at", size, hasAttachments = "has_attachments", isRead = "is_read"
    // The extended set: what downstream consumers ask for most.
    case internetMessageID = "internet_message_id", conversationID = "conversation_id", from, to, cc, categories
    case importance, flagStatus = "flag_status"
    /// Personal data: only when named explicitly, never by a set name.
    case bodyPreview = "body_preview"

    public static let defaultSet: [ItemField] = [.subject, .sender, .receivedAt, .size, .hasAttachments, .isRead]
    public static let extendedSet: [ItemField] = defaultSet + [
        .internetMessageID, .conversationID, .from, .to, .cc, .categories, .importance, .flagStatus,
    ]

    /// The preview's length limit, in characters (grapheme clusters).
    public static let bodyPreviewLimit = 255

    public static func < (a: ItemField, b: ItemField) -> Bool {
        allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
    }
}

/// Which properties a tenant's changes carry (`tenant add|update --properties`, `tenants.item_properties`):
/// `default`, `extended`, or a comma-separated list of field names and set names, e.g.
/// `extended,body_preview` or `subject,from,importance`.
///
/// It decides `changes.properties` only. Whatever the profile, GetItem also asks for the default
/// set, because the mirror's columns (and the read-state logic that compares with them) need it.
public struct PropertyProfile: Sendable, Equatable, CustomStringConvertible {
    /// The canonical spelling, as stored: set names first, then the fields they do not cover, in
    /// the order of `ItemField.allCases`.
    public let spec: String
    public let fields: Set<ItemField>

    public static let `default` = PropertyProfile(uncheckedSpec: "default", fields: Set(ItemField.defaultSet))

    /// Parses what a user typed; an unknown name is an error that lists the known ones.
    public init(parsing text: String) throws(StoreError) {
        var fields: Set<ItemField> = []
        var extended = false, standard = false
        let names = text.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
        guard !names.isEmpty, !names.contains(where: \.isEmpty) else {
            throw StoreError(.invalidInput, "--properties needs default, extended or a comma-separated list of fields")
        }
        for name in names {
            switch name {
            case "default": standard = true; fields.formUnion(ItemField.defaultSet)
            case "extended": extended = true; fields.formUnion(ItemField.extendedSet)
            default:
                guard let field = ItemField(rawValue: name) else {
                    let known = (["default", "extended"] + ItemField.allCases.map(\.rawValue)).joined(separator: ", ")
                    throw StoreError(.invalidInput, "unknown property \(name) (known: \(known))")
                }
                fields.insert(field)
            }
        }
        let covered = Set(extended ? ItemField.extendedSet : standard ? ItemField.defaultSet : [])
        let sets = extended ? ["extended"] : standard ? ["default"] : []
        let rest = fields.subtracting(covered).sorted().map(\.rawValue)
        self.init(uncheckedSpec: (sets + rest).joined(separator: ","), fields: fields)
    }

    private init(uncheckedSpec: String, fields: Set<ItemField>) {
        spec = uncheckedSpec
        self.fields = fields
    }

    public func carries(_ field: ItemField) -> Bool { fields.contains(field) }

    /// Whether the profile names anything beyond the mirror's columns (so GetItem asks for more).
    public var extras: [ItemField] { fields.subtracting(ItemField.defaultSet).sorted() }

    public var description: String { spec }
}
