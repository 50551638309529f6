import Foundation

/// What ews-sim's messages say beyond the fields `Item` stores: pure functions of the item's key,
/// subject and flag, so 10,000 busy mailboxes stay small and the wire and the ground truth agree.
/// An update (a flag toggle) changes the flag and the categories, as a user's follow-up flag in
/// Outlook adds its category.
enum ItemContent {
    static func importance(_ item: Item) -> String {
        switch item.key % 7 {
        case 0: "High"
        case 3: "Low"
        default: "Normal"
        }
    }

    /// Empty for most items: Exchange then leaves the element out.
    static func categories(_ item: Item) -> [String] {
        var categories = item.key % 3 == 0 ? ["Vendor"] : []
        if item.isFlagged { categories.append("Follow-up") }
        return categories
    }

    static func flagStatus(_ item: Item) -> String { item.isFlagged ? "Flagged" : "NotFlagged" }

    static func cc(_ item: Item) -> [String] {
        item.key % 4 == 0 ? ["team\(item.key % 5)@sim.example", "audit@sim.example"] : []
    }

    static func internetMessageID(_ mailbox: Mailbox, _ item: Item) -> String { "<\(item.key).\(mailbox.index)@sim.example>" }

    /// One conversation per subject and mailbox, as Exchange threads replies by topic.
    static func conversationID(_ mailbox: Mailbox, _ item: Item) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in "\(mailbox.index)|\(item.subject)".utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        return "AAQkAD" + String(hash, radix: 16, uppercase: true)
    }

    /// The plain-text body: a greeting, indented lines, non-ASCII text, and for one item in three a
    /// body longer than 1 KB (so MaximumBodySize and the 255-character preview both cut it).
    static func textBody(_ item: Item) -> String {
        let paragraph = "The quarterly figures for “\(item.subject)” are attached; café meeting at 10:00. "
        let repeats = item.key % 3 == 0 ? 24 : 1 + Int(item.key % 2)
        return "Hello,\r\n\r\n    message \(item.key) follows.\r\n\r\n"
            + String(repeating: paragraph, count: repeats) + "\r\n\r\n-- \r\nSent from ews-sim"
    }

    /// The body in the form a request asks for, cut at `maximumKB` kilobytes (whole characters)
    /// when given; the flag says whether it was cut.
    static func body(_ item: Item, type: String, maximumKB: Int?) -> (text: String, truncated: Bool) {
        let text = type == "Text" ? textBody(item)
            : "<html><body><p>" + XMLWriter.escape(textBody(item)) + "</p></body></html>"
        guard let maximumKB, maximumKB > 0, text.utf8.count > maximumKB * 1024 else { return (text, false) }
        var cut = ""
        var bytes = 0
        for character in text {
            let size = character.utf8.count
            if bytes + size > maximumKB * 1024 { break }
            cut.append(character)
            bytes += size
        }
        return (cut, true)
    }
}

extension SimWorld {
    /// The ground truth of what `--properties extended,body_preview` should record for each item of
    /// a folder (keys as in `changes.properties`; empty lists are left out, as on the wire).
    public struct ItemContentSnapshot: Sendable, Equatable {
        public var itemId: String
        public var importance: String
        public var categories: [String]
        public var flagStatus: String
        public var from: String
        public var to: [String]
        public var cc: [String]
        public var internetMessageId: String
        public var conversationId: String
        public var textBody: String
    }

    public func contents(mailbox smtp: String, folder: String = "inbox") throws(SimError) -> [ItemContentSnapshot] {
        try locked { () throws(SimError) -> [ItemContentSnapshot] in
            let mailbox = try requireMailbox(smtp)
            let target = try requireFolder(mailbox, folder)
            return target.itemKeys.compactMap { mailbox.items[$0] }.map { item in
                ItemContentSnapshot(
                    itemId: itemId(mailbox, item), importance: ItemContent.importance(item),
                    categories: ItemContent.categories(item), flagStatus: ItemContent.flagStatus(item), from: item.sender,
                    to: [mailbox.smtp], cc: ItemContent.cc(item), internetMessageId: ItemContent.internetMessageID(mailbox, item),
                    conversationId: ItemContent.conversationID(mailbox, item), textBody: ItemContent.textBody(item))
            }
        }
    }
}
