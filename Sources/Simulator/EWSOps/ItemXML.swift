/// Item and folder elements as Exchange writes them (schema order of ItemType/MessageType/FolderType).
enum ItemXML {
    enum Shape { case idOnly, full }

    /// IdOnly without AdditionalProperties gives ids only; anything else gives the full set we keep.
    static func shape(_ shapeNode: SimXMLNode?) -> Shape {
        guard let shapeNode else { return .idOnly }
        let base = shapeNode.child(NS.types, "BaseShape")?.trimmedText ?? "IdOnly"
        if base == "IdOnly" && shapeNode.child(NS.types, "AdditionalProperties") == nil { return .idOnly }
        return .full
    }

    static func writeItem(_ w: inout XMLWriter, world: SimWorld, mailbox: Mailbox, item: Item, shape: Shape) {
        w.open("t:Message")
        w.empty("t:ItemId", ["Id": world.itemId(mailbox, item), "ChangeKey": SimIds.itemChangeKey(item.keySequence)])
        if shape == .full {
            let folder = mailbox.folders.first { $0.index == item.folderIndex }!
            w.empty("t:ParentFolderId", ["Id": world.folderId(mailbox, folder), "ChangeKey": SimIds.folderChangeKey(folder.changeSequence)])
            w.element("t:ItemClass", "IPM.Note")
            w.element("t:Subject", item.subject)
            w.element("t:Sensitivity", "Normal")
            w.element("t:DateTimeReceived", ISOTime.string(item.received))
            w.element("t:Size", String(item.size))
            w.element("t:Importance", "Normal")
            w.element("t:IsSubmitted", "false")
            w.element("t:IsDraft", "false")
            w.element("t:IsFromMe", "false")
            w.element("t:IsResend", "false")
            w.element("t:IsUnmodified", "true")
            w.element("t:DateTimeSent", ISOTime.string(item.received))
            w.element("t:DateTimeCreated", ISOTime.string(item.received))
            w.element("t:DisplayCc", "")
            w.element("t:DisplayTo", mailbox.smtp)
            w.element("t:HasAttachments", item.hasAttachments ? "true" : "false")
            w.element("t:Culture", "en-US")
            w.element("t:LastModifiedTime", ISOTime.string(world.clock.date()))
            w.element("t:IsAssociated", "false")
            w.element("t:Flag") { w in
                w.element("t:FlagStatus", item.isFlagged ? "Flagged" : "NotFlagged")
            }
            writeMailbox(&w, "t:Sender", item.sender)
            w.element("t:ToRecipients") { w in
                w.element("t:Mailbox") { w in
                    w.element("t:EmailAddress", mailbox.smtp)
                    w.element("t:RoutingType", "SMTP")
                }
            }
            w.element("t:IsReadReceiptRequested", "false")
            w.element("t:IsDeliveryReceiptRequested", "false")
            w.element("t:ConversationTopic", item.subject)
            writeMailbox(&w, "t:From", item.sender)
            w.element("t:InternetMessageId", "<\(item.key).\(mailbox.index)@sim.example>")
            w.element("t:IsRead", item.isRead ? "true" : "false")
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
        let element = folder.folderClass == "IPF.Appointment" ? "t:CalendarFolder" : "t:Folder"
        w.open(element)
        w.empty("t:FolderId", ["Id": world.folderId(mailbox, folder), "ChangeKey": SimIds.folderChangeKey(folder.changeSequence)])
        if shape == .full {
            if let parent = folder.parentIndex, let parentFolder = mailbox.folders.first(where: { $0.index == parent }) {
                w.empty("t:ParentFolderId", ["Id": world.folderId(mailbox, parentFolder),
                                             "ChangeKey": SimIds.folderChangeKey(parentFolder.changeSequence)])
            }
            if !folder.folderClass.isEmpty { w.element("t:FolderClass", folder.folderClass) }
            w.element("t:DisplayName", folder.displayName)
            w.element("t:TotalCount", String(folder.itemKeys.count))
            w.element("t:ChildFolderCount", String(mailbox.folders.filter { $0.parentIndex == folder.index }.count))
            if element == "t:Folder" { w.element("t:UnreadCount", String(world.unreadCount(mailbox, folder))) }
        }
        w.close(element)
    }
}
