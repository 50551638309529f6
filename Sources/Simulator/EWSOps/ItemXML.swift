/// Item and folder elements as Exchange writes them (schema order of ItemType/MessageType/FolderType).
enum ItemXML {
    enum Shape: Equatable {
        case idOnly
        /// IdOnly with AdditionalProperties: the ids and the named properties (FieldURIs), no more.
        case properties(Set<String>)
        /// Default or AllProperties: the full set we keep.
        case full
    }

    /// The item shape a request asks for, as Exchange reads it.
    static func shape(_ shapeNode: SimXMLNode?) -> Shape {
        guard let shapeNode else { return .idOnly }
        let base = shapeNode.child(NS.types, "BaseShape")?.trimmedText ?? "IdOnly"
        guard base == "IdOnly" else { return .full }
        guard let additional = shapeNode.child(NS.types, "AdditionalProperties") else { return .idOnly }
        let uris = additional.children(NS.types, "FieldURI").compactMap { $0.attribute("FieldURI") }
        return .properties(Set(uris))
    }

    /// `t:BodyType` and `t:MaximumBodySize` of an item shape.
    struct BodyOptions {
        /// `Best`, `HTML` or `Text`; Exchange's Best is HTML for our items.
        var type = "Best"
        var maximumKB: Int?
    }

    /// The body options of a shape. gromox 3.10 does not implement MaximumBodySize (it sends the
    /// whole body); Exchange 2013 and later do.
    static func bodyOptions(_ shapeNode: SimXMLNode?, dialect: SimDialect) -> BodyOptions {
        var options = BodyOptions()
        if let type = shapeNode?.child(NS.types, "BodyType")?.trimmedText { options.type = type }
        if dialect != .gromox, let kb = shapeNode?.child(NS.types, "MaximumBodySize")?.trimmedText { options.maximumKB = Int(kb) }
        return options
    }

    /// What a property writer needs.
    struct Source {
        var world: SimWorld
        var mailbox: Mailbox
        var item: Item
        var body = BodyOptions()
    }

    /// MessageType's elements in schema order, each with the FieldURI that asks for it alone.
    static let messageProperties: [(uri: String, write: @Sendable (inout XMLWriter, Source) -> Void)] = [
        ("item:ParentFolderId", { w, s in
            let folder = s.mailbox.folders.first { $0.index == s.item.folderIndex }!
            w.empty("t:ParentFolderId", ["Id": s.world.folderId(s.mailbox, folder), "ChangeKey": SimIds.folderChangeKey(folder.changeSequence)])
        }),
        ("item:ItemClass", { w, _ in w.element("t:ItemClass", "IPM.Note") }),
        ("item:Subject", { w, s in w.element("t:Subject", s.item.subject) }),
        ("item:Sensitivity", { w, _ in w.element("t:Sensitivity", "Normal") }),
        ("item:Body", { w, s in
            let body = ItemContent.body(s.item, type: s.body.type == "Text" ? "Text" : "HTML", maximumKB: s.body.maximumKB)
            w.element("t:Body", body.text, ["BodyType": s.body.type == "Text" ? "Text" : "HTML",
                                             "IsTruncated": body.truncated ? "true" : "false"])
        }),
        ("item:DateTimeReceived", { w, s in w.element("t:DateTimeReceived", ISOTime.string(s.item.received)) }),
        ("item:Size", { w, s in w.element("t:Size", String(s.item.size)) }),
        ("item:Categories", { w, s in
            let categories = ItemContent.categories(s.item)
            if !categories.isEmpty { w.element("t:Categories") { w in for c in categories { w.element("t:String", c) } } }
        }),
        ("item:Importance", { w, s in w.element("t:Importance", ItemContent.importance(s.item)) }),
        ("item:IsSubmitted", { w, _ in w.element("t:IsSubmitted", "false") }),
        ("item:IsDraft", { w, _ in w.element("t:IsDraft", "false") }),
        ("item:IsFromMe", { w, _ in w.element("t:IsFromMe", "false") }),
        ("item:IsResend", { w, _ in w.element("t:IsResend", "false") }),
        ("item:IsUnmodified", { w, _ in w.element("t:IsUnmodified", "true") }),
        ("item:DateTimeSent", { w, s in w.element("t:DateTimeSent", ISOTime.string(s.item.received)) }),
        ("item:DateTimeCreated", { w, s in w.element("t:DateTimeCreated", ISOTime.string(s.item.received)) }),
        ("item:DisplayCc", { w, _ in w.element("t:DisplayCc", "") }),
        ("item:DisplayTo", { w, s in w.element("t:DisplayTo", s.mailbox.smtp) }),
        ("item:HasAttachments", { w, s in w.element("t:HasAttachments", s.item.hasAttachments ? "true" : "false") }),
        ("item:Culture", { w, _ in w.element("t:Culture", "en-US") }),
        ("item:LastModifiedTime", { w, s in w.element("t:LastModifiedTime", ISOTime.string(s.world.clock.date())) }),
        ("item:IsAssociated", { w, _ in w.element("t:IsAssociated", "false") }),
        ("item:ConversationId", { w, s in w.empty("t:ConversationId", ["Id": ItemContent.conversationID(s.mailbox, s.item)]) }),
        ("item:Flag", { w, s in w.element("t:Flag") { w in w.element("t:FlagStatus", ItemContent.flagStatus(s.item)) } }),
        ("message:Sender", { w, s in writeMailbox(&w, "t:Sender", s.item.sender) }),
        ("message:ToRecipients", { w, s in
            w.element("t:ToRecipients") { w in
                w.element("t:Mailbox") { w in
                    w.element("t:EmailAddress", s.mailbox.smtp)
                    w.element("t:RoutingType", "SMTP")
                }
            }
        }),
        ("message:CcRecipients", { w, s in
            let cc = ItemContent.cc(s.item)
            if !cc.isEmpty {
                w.element("t:CcRecipients") { w in
                    for address in cc {
                        w.element("t:Mailbox") { w in
                            w.element("t:EmailAddress", address)
                            w.element("t:RoutingType", "SMTP")
                        }
                    }
                }
            }
        }),
        ("message:IsReadReceiptRequested", { w, _ in w.element("t:IsReadReceiptRequested", "false") }),
        ("message:IsDeliveryReceiptRequested", { w, _ in w.element("t:IsDeliveryReceiptRequested", "false") }),
        ("message:ConversationTopic", { w, s in w.element("t:ConversationTopic", s.item.subject) }),
        ("message:From", { w, s in writeMailbox(&w, "t:From", s.item.sender) }),
        ("message:InternetMessageId", { w, s in w.element("t:InternetMessageId", ItemContent.internetMessageID(s.mailbox, s.item)) }),
        ("message:IsRead", { w, s in w.element("t:IsRead", s.item.isRead ? "true" : "false") }),
    ]

    static func writeItem(_ w: inout XMLWriter, world: SimWorld, mailbox: Mailbox, item: Item, shape: Shape,
                          body: BodyOptions = BodyOptions()) {
        w.open("t:Message")
        w.empty("t:ItemId", ["Id": world.itemId(mailbox, item), "ChangeKey": SimIds.itemChangeKey(item.keySequence)])
        let source = Source(world: world, mailbox: mailbox, item: item, body: body)
        switch shape {
        case .idOnly:
            break
        case .full:
            for property in messageProperties { property.write(&w, source) }
        case .properties(let wanted):
            for property in messageProperties where wanted.contains(property.uri) { property.write(&w, source) }
        }
        w.close("t:Message")
    }

    private static func writeMailbox(_ w: inout XMLWriter, _ name: String, _ address: String) {
        w.element(name) { w in
            w.element("t:Mailbox") { w in
                w.element("t:Name", String(address.split(separator: "@").first ?? ""))
                w.element("t:EmailAddress", address)
                w.element("t:RoutingType", "SMTP")
            }
        }
    }

    static func writeFolder(_ w: inout XMLWriter, world: SimWorld, mailbox: Mailbox, folder: Folder, shape: Shape) {
        let element = folder.search != nil ? "t:SearchFolder" : folder.folderClass == "IPF.Appointment" ? "t:CalendarFolder" : "t:Folder"
        w.open(element)
        w.empty("t:FolderId", ["Id": world.folderId(mailbox, folder), "ChangeKey": SimIds.folderChangeKey(folder.changeSequence)])
        if shape != .idOnly {
            if let parent = folder.parentIndex, let parentFolder = mailbox.folders.first(where: { $0.index == parent }) {
                w.empty("t:ParentFolderId", ["Id": world.folderId(mailbox, parentFolder),
                                             "ChangeKey": SimIds.folderChangeKey(parentFolder.changeSequence)])
            }
            if !folder.folderClass.isEmpty { w.element("t:FolderClass", folder.folderClass) }
            w.element("t:DisplayName", folder.displayName)
            w.element("t:TotalCount", String(world.totalCount(mailbox, folder)))
            w.element("t:ChildFolderCount", String(mailbox.folders.filter { $0.parentIndex == folder.index }.count))
            if element != "t:CalendarFolder" { w.element("t:UnreadCount", String(world.unreadCount(mailbox, folder))) }
        }
        w.close(element)
    }
}
