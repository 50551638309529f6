extension EWSResponseDecoder {
    static func decodeSubscribe(_ element: EWSXMLElement) throws(EWSDecodingError) -> SubscribeResponseMessage {
        SubscribeResponseMessage(
            status: try EWSResponseStatus(element: element),
            subscriptionID: element.ewsText("SubscriptionId").flatMap { $0.isEmpty ? nil : $0 },
            watermark: element.ewsText("Watermark").flatMap { $0.isEmpty ? nil : $0 })
    }

    static func decodeSyncFolderItems(_ element: EWSXMLElement) throws(EWSDecodingError)
        -> SyncFolderItemsResponseMessage
    {
        var changes: [EWSItemChange] = []
        for change in element.ewsList("Changes") {
            guard let kind = EWSItemChange.Kind(rawValue: change.localName) else { continue }
            switch kind {
            case .delete, .readFlagChange:
                guard let id = change.ewsChild("ItemId").flatMap(EWSItemID.init(element:)) else { continue }
                changes.append(EWSItemChange(kind: kind, itemID: id, itemType: nil,
                    isRead: change.ewsText("IsRead").flatMap(EWSValue.bool)))
            case .create, .update:
                guard let item = change.children.first,
                    let id = item.ewsChild("ItemId").flatMap(EWSItemID.init(element:))
                else { continue }
                // IsRead is there only when asked for (AdditionalProperties), e.g. by a baseline.
                changes.append(EWSItemChange(kind: kind, itemID: id, itemType: item.localName,
                                             isRead: item.ewsText("IsRead").flatMap(EWSValue.bool)))
            }
        }
        return SyncFolderItemsResponseMessage(
            status: try EWSResponseStatus(element: element), syncState: element.ewsText("SyncState"),
            includesLastItemInRange: element.ewsText("IncludesLastItemInRange").flatMap(EWSValue.bool),
            changes: changes)
    }

    static func decodeSyncFolderHierarchy(_ element: EWSXMLElement) throws(EWSDecodingError)
        -> SyncFolderHierarchyResponseMessage
    {
        var changes: [EWSFolderChange] = []
        for change in element.ewsList("Changes") {
            guard let kind = EWSFolderChange.Kind(rawValue: change.localName) else { continue }
            if kind == .delete {
                guard let id = change.ewsChild("FolderId").flatMap(EWSItemID.init(element:)) else { continue }
                changes.append(EWSFolderChange(kind: kind, folder: EWSFolder(folderType: "Folder", folderID: id)))
            } else if let folder = change.children.first.flatMap(decodeFolder) {
                changes.append(EWSFolderChange(kind: kind, folder: folder))
            }
        }
        return SyncFolderHierarchyResponseMessage(
            status: try EWSResponseStatus(element: element), syncState: element.ewsText("SyncState"),
            includesLastFolderInRange: element.ewsText("IncludesLastFolderInRange").flatMap(EWSValue.bool),
            changes: changes)
    }

    static func decodeGetFolder(_ element: EWSXMLElement) throws(EWSDecodingError) -> GetFolderResponseMessage {
        GetFolderResponseMessage(status: try EWSResponseStatus(element: element),
                                 folders: element.ewsList("Folders").compactMap(decodeFolder))
    }

    static func decodeFindFolder(_ element: EWSXMLElement) throws(EWSDecodingError) -> FindFolderResponseMessage {
        let page = FindPage(element, listing: "Folders")
        return FindFolderResponseMessage(
            status: try EWSResponseStatus(element: element), folders: page.entries.compactMap(decodeFolder),
            includesLastItemInRange: page.includesLastItemInRange, indexedPagingOffset: page.indexedPagingOffset)
    }

    static func decodeGetItem(_ element: EWSXMLElement) throws(EWSDecodingError) -> GetItemResponseMessage {
        GetItemResponseMessage(status: try EWSResponseStatus(element: element),
                               items: element.ewsList("Items").compactMap(decodeItem))
    }

    static func decodeFindItem(_ element: EWSXMLElement) throws(EWSDecodingError) -> FindItemResponseMessage {
        let page = FindPage(element, listing: "Items")
        return FindItemResponseMessage(
            status: try EWSResponseStatus(element: element), items: page.entries.compactMap(decodeItem),
            includesLastItemInRange: page.includesLastItemInRange, indexedPagingOffset: page.indexedPagingOffset,
            totalItemsInView: page.totalItemsInView)
    }

    /// The `m:RootFolder` of a FindItem or FindFolder answer: its entries and where the page ends
    /// (all absent on an error answer, which has no RootFolder).
    private struct FindPage {
        var entries: [EWSXMLElement]
        var includesLastItemInRange: Bool?
        var indexedPagingOffset: Int?
        var totalItemsInView: Int?

        init(_ message: EWSXMLElement, listing: String) {
            let root = message.ewsChild("RootFolder")
            entries = root?.ewsList(listing) ?? []
            includesLastItemInRange = root?.attribute("IncludesLastItemInRange").flatMap(EWSValue.bool)
            indexedPagingOffset = root?.attribute("IndexedPagingOffset").flatMap { Int($0) }
            totalItemsInView = root?.attribute("TotalItemsInView").flatMap { Int($0) }
        }
    }

    static func decodeFolder(_ element: EWSXMLElement) -> EWSFolder? {
        guard let id = element.ewsChild("FolderId").flatMap(EWSItemID.init(element:)) else { return nil }
        return EWSFolder(
            folderType: element.localName, folderID: id,
            parentFolderID: element.ewsChild("ParentFolderId").flatMap(EWSItemID.init(element:)),
            displayName: element.ewsText("DisplayName"), folderClass: element.ewsText("FolderClass"))
    }

    static func decodeItem(_ element: EWSXMLElement) -> EWSItem? {
        guard let id = element.ewsChild("ItemId").flatMap(EWSItemID.init(element:)) else { return nil }
        var item = EWSItem(
            itemType: element.localName, itemID: id,
            parentFolderID: element.ewsChild("ParentFolderId").flatMap(EWSItemID.init(element:)),
            subject: element.ewsChild("Subject")?.text,
            sender: element.ewsChild("Sender")?.ewsChild("Mailbox").map(decodeMailbox),
            dateTimeReceived: element.ewsText("DateTimeReceived"),
            size: element.ewsText("Size").flatMap { Int($0) },
            hasAttachments: element.ewsText("HasAttachments").flatMap(EWSValue.bool),
            isRead: element.ewsText("IsRead").flatMap(EWSValue.bool))
        item.internetMessageID = element.ewsText("InternetMessageId")
        item.conversationID = element.ewsChild("ConversationId")?.attribute("Id")
        item.from = element.ewsChild("From")?.ewsChild("Mailbox").map(decodeMailbox)
        item.toRecipients = element.ewsChild("ToRecipients").map { $0.ewsChildren("Mailbox").map(decodeMailbox) }
        item.ccRecipients = element.ewsChild("CcRecipients").map { $0.ewsChildren("Mailbox").map(decodeMailbox) }
        item.categories = element.ewsChild("Categories").map { $0.ewsChildren("String").map(\.trimmedText).filter { !$0.isEmpty } }
        item.importance = element.ewsText("Importance")
        item.flagStatus = element.ewsChild("Flag")?.ewsText("FlagStatus")
        item.body = element.ewsChild("Body")?.text
        // Calendar properties only on calendar items: mail, the hot path, skips six lookups.
        guard element.localName == "CalendarItem" else { return item }
        item.start = element.ewsText("Start")
        item.end = element.ewsText("End")
        item.location = element.ewsText("Location")
        item.organizer = element.ewsChild("Organizer")?.ewsChild("Mailbox").map(decodeMailbox)
        item.calendarItemType = element.ewsText("CalendarItemType")
        item.uid = element.ewsText("UID")
        return item
    }

    static func decodeMailbox(_ element: EWSXMLElement) -> EWSItem.Mailbox {
        EWSItem.Mailbox(name: element.ewsText("Name"), emailAddress: element.ewsText("EmailAddress"))
    }
}
