public import Foundation

extension EWSResponseWriter {
    public static func subscribe(_ messages: [SubscribeResponseMessage]) -> Data {
        envelope { writer in
            operationResponse(.subscribe, to: &writer) { writer in
                for message in messages {
                    openMessage(.subscribe, message.status, to: &writer)
                    if let id = message.subscriptionID { writer.element("m:SubscriptionId", id) }
                    if let watermark = message.watermark { writer.element("m:Watermark", watermark) }
                    writer.close("m:\(EWSOperation.subscribe.responseMessageElement)")
                }
            }
        }
    }

    public static func unsubscribe(_ messages: [EWSStatusResponseMessage]) -> Data {
        envelope { writer in
            operationResponse(.unsubscribe, to: &writer) { writer in
                for message in messages {
                    openMessage(.unsubscribe, message.status, to: &writer)
                    writer.close("m:\(EWSOperation.unsubscribe.responseMessageElement)")
                }
            }
        }
    }

    public static func syncFolderItems(_ messages: [SyncFolderItemsResponseMessage]) -> Data {
        envelope { writer in
            operationResponse(.syncFolderItems, to: &writer) { writer in
                for message in messages {
                    openMessage(.syncFolderItems, message.status, to: &writer)
                    if let state = message.syncState { writer.element("m:SyncState", state) }
                    if let last = message.includesLastItemInRange {
                        writer.element("m:IncludesLastItemInRange", last ? "true" : "false")
                    }
                    if !message.changes.isEmpty {
                        writer.open("m:Changes")
                        for change in message.changes { write(change, to: &writer) }
                        writer.close("m:Changes")
                    }
                    writer.close("m:\(EWSOperation.syncFolderItems.responseMessageElement)")
                }
            }
        }
    }

    private static func write(_ change: EWSItemChange, to writer: inout XMLWriter) {
        let id: KeyValuePairs<String, String?> = ["Id": change.itemID.id, "ChangeKey": change.itemID.changeKey]
        writer.open("t:\(change.kind.rawValue)")
        switch change.kind {
        case .create, .update:
            let type = "t:\(change.itemType ?? "Message")"
            writer.open(type)
            writer.empty("t:ItemId", id)
            writer.close(type)
        case .delete:
            writer.empty("t:ItemId", id)
        case .readFlagChange:
            writer.empty("t:ItemId", id)
            writer.element("t:IsRead", change.isRead == true ? "true" : "false")
        }
        writer.close("t:\(change.kind.rawValue)")
    }

    public static func syncFolderHierarchy(_ messages: [SyncFolderHierarchyResponseMessage]) -> Data {
        envelope { writer in
            operationResponse(.syncFolderHierarchy, to: &writer) { writer in
                for message in messages {
                    openMessage(.syncFolderHierarchy, message.status, to: &writer)
                    if let state = message.syncState { writer.element("m:SyncState", state) }
                    if let last = message.includesLastFolderInRange {
                        writer.element("m:IncludesLastFolderInRange", last ? "true" : "false")
                    }
                    if !message.changes.isEmpty {
                        writer.open("m:Changes")
                        for change in message.changes {
                            writer.open("t:\(change.kind.rawValue)")
                            if change.kind == .delete {
                                writer.empty("t:FolderId", ["Id": change.folder.folderID.id,
                                    "ChangeKey": change.folder.folderID.changeKey])
                            } else {
                                write(change.folder, to: &writer)
                            }
                            writer.close("t:\(change.kind.rawValue)")
                        }
                        writer.close("m:Changes")
                    }
                    writer.close("m:\(EWSOperation.syncFolderHierarchy.responseMessageElement)")
                }
            }
        }
    }

    private static func write(_ folder: EWSFolder, to writer: inout XMLWriter) {
        writer.open("t:\(folder.folderType)")
        writer.empty("t:FolderId", ["Id": folder.folderID.id, "ChangeKey": folder.folderID.changeKey])
        if let parent = folder.parentFolderID {
            writer.empty("t:ParentFolderId", ["Id": parent.id, "ChangeKey": parent.changeKey])
        }
        if let folderClass = folder.folderClass { writer.element("t:FolderClass", folderClass) }
        if let name = folder.displayName { writer.element("t:DisplayName", name) }
        writer.close("t:\(folder.folderType)")
    }

    public static func getFolder(_ messages: [GetFolderResponseMessage]) -> Data {
        envelope { writer in
            operationResponse(.getFolder, to: &writer) { writer in
                for message in messages {
                    openMessage(.getFolder, message.status, to: &writer)
                    writer.open("m:Folders")
                    for folder in message.folders { write(folder, to: &writer) }
                    writer.close("m:Folders")
                    writer.close("m:\(EWSOperation.getFolder.responseMessageElement)")
                }
            }
        }
    }

    /// One message per requested id, in request order; failed ones carry an empty `m:Items`.
    public static func getItem(_ messages: [GetItemResponseMessage]) -> Data {
        envelope { writer in
            operationResponse(.getItem, to: &writer) { writer in
                for message in messages {
                    openMessage(.getItem, message.status, to: &writer)
                    writer.open("m:Items")
                    for item in message.items { write(item, to: &writer) }
                    writer.close("m:Items")
                    writer.close("m:\(EWSOperation.getItem.responseMessageElement)")
                }
            }
        }
    }

    /// Item properties in types.xsd order (ItemType, then MessageType's Sender/IsRead).
    private static func write(_ item: EWSItem, to writer: inout XMLWriter) {
        writer.open("t:\(item.itemType)")
        writer.empty("t:ItemId", ["Id": item.itemID.id, "ChangeKey": item.itemID.changeKey])
        if let parent = item.parentFolderID {
            writer.empty("t:ParentFolderId", ["Id": parent.id, "ChangeKey": parent.changeKey])
        }
        if let subject = item.subject { writer.element("t:Subject", subject) }
        if let received = item.dateTimeReceived { writer.element("t:DateTimeReceived", received) }
        if let size = item.size { writer.element("t:Size", String(size)) }
        if let attachments = item.hasAttachments { writer.element("t:HasAttachments", attachments ? "true" : "false") }
        if let sender = item.sender {
            writer.open("t:Sender")
            writer.open("t:Mailbox")
            if let name = sender.name { writer.element("t:Name", name) }
            if let address = sender.emailAddress { writer.element("t:EmailAddress", address) }
            writer.close("t:Mailbox")
            writer.close("t:Sender")
        }
        if let isRead = item.isRead { writer.element("t:IsRead", isRead ? "true" : "false") }
        writer.close("t:\(item.itemType)")
    }
}

extension EWSResponseWriter {
    /// Autodiscover `GetUserSettingsResponseMessage` (default Autodiscover namespace, WS-Addressing
    /// action header), as Exchange sends it.
    public static func getUserSettings(_ response: GetUserSettingsResponse) -> Data {
        var writer = XMLWriter()
        writer.declaration()
        writer.open("s:Envelope", ["xmlns:s": EWSNamespace.soap, "xmlns:a": EWSNamespace.addressing])
        writer.open("s:Header")
        writer.element("a:Action", GetUserSettingsRequest.action + "Response", ["s:mustUnderstand": "1"])
        writer.close("s:Header")
        writer.open("s:Body")
        writer.open("GetUserSettingsResponseMessage", ["xmlns": EWSNamespace.autodiscover])
        writer.open("Response", ["xmlns:i": EWSNamespace.xsi])
        writer.element("ErrorCode", response.errorCode)
        writer.element("ErrorMessage", response.errorMessage ?? "")
        writer.open("UserResponses")
        for user in response.userResponses {
            writer.open("UserResponse")
            writer.element("ErrorCode", user.errorCode)
            writer.element("ErrorMessage", user.errorMessage ?? "")
            if let target = user.redirectTarget {
                writer.element("RedirectTarget", target)
            } else {
                writer.empty("RedirectTarget", ["i:nil": "true"])
            }
            writer.open("UserSettingErrors")
            for (name, code) in user.settingErrors.sorted(by: { $0.key < $1.key }) {
                writer.open("UserSettingError")
                writer.element("ErrorCode", code)
                writer.element("ErrorMessage", "")
                writer.element("SettingName", name)
                writer.close("UserSettingError")
            }
            writer.close("UserSettingErrors")
            writer.open("UserSettings")
            for (name, value) in user.settings.sorted(by: { $0.key < $1.key }) {
                writer.open("UserSetting", ["i:type": "StringSetting"])
                writer.element("Name", name)
                writer.element("Value", value)
                writer.close("UserSetting")
            }
            writer.close("UserSettings")
            writer.close("UserResponse")
        }
        writer.close("UserResponses")
        writer.close("Response")
        writer.close("GetUserSettingsResponseMessage")
        writer.close("s:Body")
        writer.close("s:Envelope")
        return Data(writer.output.utf8)
    }
}
