@testable import Simulator

/// Hand-written request envelopes and response navigation for tests.
enum Soap {
    static func envelope(_ body: String, impersonate: String? = nil, version: String = "Exchange2013_SP1") -> String {
        var header = "<t:RequestServerVersion Version=\"\(version)\"/>"
        if let impersonate {
            header += "<t:ExchangeImpersonation><t:ConnectingSID><t:PrimarySmtpAddress>\(impersonate)</t:PrimarySmtpAddress></t:ConnectingSID></t:ExchangeImpersonation>"
        }
        return """
            <?xml version="1.0" encoding="utf-8"?>
            <soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" \
            xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages" \
            xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types">
            <soap:Header>\(header)</soap:Header><soap:Body>\(body)</soap:Body></soap:Envelope>
            """
    }

    static func subscribe(_ mailbox: String, folders: String) -> String {
        envelope("""
            <m:Subscribe><m:StreamingSubscriptionRequest><t:FolderIds>\(folders)</t:FolderIds><t:EventTypes>\
            <t:EventType>NewMailEvent</t:EventType><t:EventType>CreatedEvent</t:EventType>\
            <t:EventType>DeletedEvent</t:EventType><t:EventType>ModifiedEvent</t:EventType>\
            <t:EventType>MovedEvent</t:EventType></t:EventTypes></m:StreamingSubscriptionRequest></m:Subscribe>
            """, impersonate: mailbox)
    }

    static func subscribeAllFolders(_ mailbox: String) -> String {
        envelope("<m:Subscribe><m:StreamingSubscriptionRequest SubscribeToAllFolders=\"true\"><t:EventTypes>"
                 + "<t:EventType>NewMailEvent</t:EventType><t:EventType>CreatedEvent</t:EventType>"
                 + "<t:EventType>DeletedEvent</t:EventType><t:EventType>ModifiedEvent</t:EventType>"
                 + "<t:EventType>MovedEvent</t:EventType></t:EventTypes></m:StreamingSubscriptionRequest></m:Subscribe>",
                 impersonate: mailbox)
    }

    /// A folder of another mailbox named directly (delegate access, no impersonation).
    static func delegateFolder(_ mailbox: String, _ folder: String = "inbox") -> String {
        "<t:DistinguishedFolderId Id=\"\(folder)\"><t:Mailbox><t:EmailAddress>\(mailbox)</t:EmailAddress></t:Mailbox></t:DistinguishedFolderId>"
    }

    /// Subscribe to `folders` as the caller itself (no impersonation).
    static func subscribeWithoutImpersonation(folders: String) -> String {
        envelope("<m:Subscribe><m:StreamingSubscriptionRequest><t:FolderIds>\(folders)</t:FolderIds><t:EventTypes>"
                 + "<t:EventType>NewMailEvent</t:EventType><t:EventType>ModifiedEvent</t:EventType></t:EventTypes>"
                 + "</m:StreamingSubscriptionRequest></m:Subscribe>")
    }

    /// SyncFolderItems of `folder` (a folder-id element), impersonating or not.
    static func syncFolderItems(folder: String, state: String? = nil, impersonate: String? = nil) -> String {
        envelope("<m:SyncFolderItems><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape></m:ItemShape>"
                 + "<m:SyncFolderId>\(folder)</m:SyncFolderId>" + (state.map { "<m:SyncState>\($0)</m:SyncState>" } ?? "")
                 + "<m:MaxChangesReturned>512</m:MaxChangesReturned></m:SyncFolderItems>", impersonate: impersonate)
    }

    /// The SubscriptionId of a Subscribe answer, or nil.
    static func subscriptionId(_ xml: String) -> String? {
        (try? messages(xml))?.first?.child(NS.messages, "SubscriptionId")?.trimmedText
    }

    static func getStreamingEvents(_ ids: [String], minutes: Int = 30, impersonate: String? = nil) -> String {
        envelope("<m:GetStreamingEvents><m:SubscriptionIds>"
                 + ids.map { "<t:SubscriptionId>\($0)</t:SubscriptionId>" }.joined()
                 + "</m:SubscriptionIds><m:ConnectionTimeout>\(minutes)</m:ConnectionTimeout></m:GetStreamingEvents>",
                 impersonate: impersonate)
    }

    static func unsubscribe(_ id: String) -> String {
        envelope("<m:Unsubscribe><m:SubscriptionId>\(id)</m:SubscriptionId></m:Unsubscribe>")
    }

    static func syncFolderItems(_ mailbox: String, folder: String = "inbox", state: String? = nil, max: Int = 512) -> String {
        envelope("<m:SyncFolderItems><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape></m:ItemShape>"
                 + "<m:SyncFolderId><t:DistinguishedFolderId Id=\"\(folder)\"/></m:SyncFolderId>"
                 + (state.map { "<m:SyncState>\($0)</m:SyncState>" } ?? "")
                 + "<m:MaxChangesReturned>\(max)</m:MaxChangesReturned><m:SyncScope>NormalItems</m:SyncScope></m:SyncFolderItems>",
                 impersonate: mailbox)
    }

    static func getItem(_ ids: [String], impersonate: String? = nil) -> String {
        envelope("<m:GetItem><m:ItemShape><t:BaseShape>Default</t:BaseShape></m:ItemShape><m:ItemIds>"
                 + ids.map { "<t:ItemId Id=\"\($0)\"/>" }.joined() + "</m:ItemIds></m:GetItem>", impersonate: impersonate)
    }

    static func parse(_ xml: String) throws -> SimXMLNode {
        try SimXMLParser.parse(Array(xml.utf8)).get()
    }

    /// The `m:*ResponseMessage` elements of a normal response.
    static func messages(_ xml: String) throws -> [SimXMLNode] {
        let root = try parse(xml)
        guard let operation = root.child(NS.soap, "Body")?.children.first,
              let messages = operation.child(NS.messages, "ResponseMessages") else {
            throw RawStream.Failure(reason: "no ResponseMessages in \(xml)")
        }
        return messages.children
    }

    static func code(_ message: SimXMLNode) -> String {
        message.child(NS.messages, "ResponseCode")?.trimmedText ?? ""
    }

    /// The fault's EWS code (detail/ResponseCode), or nil.
    static func faultCode(_ xml: String) -> String? {
        guard let root = try? parse(xml), let fault = root.child(NS.soap, "Body")?.child(NS.soap, "Fault") else { return nil }
        return fault.child("", "detail")?.child(NS.errors, "ResponseCode")?.trimmedText
            ?? fault.children.first { $0.localName == "detail" }?.child(NS.errors, "ResponseCode")?.trimmedText
    }

    /// A parsed streaming envelope: its response message.
    static func streamMessage(_ envelope: String) throws -> SimXMLNode {
        let root = try parse(envelope)
        guard let message = root.child(NS.soap, "Body")?.child(NS.messages, "GetStreamingEventsResponse")?
            .child(NS.messages, "ResponseMessages")?.child(NS.messages, "GetStreamingEventsResponseMessage") else {
            throw RawStream.Failure(reason: "not a streaming envelope: \(envelope)")
        }
        return message
    }

    static func connectionStatus(_ message: SimXMLNode) -> String? {
        message.child(NS.messages, "ConnectionStatus")?.trimmedText
    }

    static func errorIds(_ message: SimXMLNode) -> [String] {
        message.child(NS.messages, "ErrorSubscriptionIds")?.children(NS.messages, "SubscriptionId").map(\.trimmedText) ?? []
    }

    /// gromox's ErrorSubscriptionIds children, which are in no namespace at all.
    static func unqualifiedErrorIds(_ message: SimXMLNode) -> [String] {
        message.child(NS.messages, "ErrorSubscriptionIds")?.children.filter { $0.namespace == nil && $0.localName == "SubscriptionId" }
            .map(\.trimmedText) ?? []
    }

    /// (subscription id, event local names) per m:Notification.
    static func notifications(_ message: SimXMLNode) -> [(String, [String])] {
        message.child(NS.messages, "Notifications")?.children(NS.messages, "Notification").map { notification in
            (notification.child(NS.types, "SubscriptionId")?.trimmedText ?? "",
             notification.children.filter { $0.localName.hasSuffix("Event") }.map(\.localName))
        } ?? []
    }
}
