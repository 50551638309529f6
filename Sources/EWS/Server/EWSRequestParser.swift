public import Foundation

/// Parses EWS requests with the hardened parser (simulator side). Values outside what the schema
/// allows (e.g. ConnectionTimeout 31, 201 subscription ids) throw `.invalidValue`, which a server
/// answers with an `ErrorSchemaValidation` fault; malformed XML throws the parser's error.
public enum EWSRequestParser {
    public static func parse(_ data: Data, limits: XMLParserLimits = .default) throws(EWSDecodingError)
        -> EWSParsedRequest
    {
        let envelope = try EWSXMLDocument.parse(data, limits: limits)
        let body = try EWSResponseDecoder.bodyElement(of: envelope)
        let header = envelope.child("Header", in: [EWSNamespace.soap, ""])
        var serverVersion = header?.ewsChild("RequestServerVersion")?.attribute("Version")
            .map(EWSServerVersion.init(rawValue:))
        var impersonation: EWSImpersonation?
        if let sid = header?.ewsChild("ExchangeImpersonation")?.ewsChild("ConnectingSID") {
            if let smtp = sid.ewsText("SmtpAddress") {
                impersonation = .smtpAddress(smtp)
            } else if let primary = sid.ewsText("PrimarySmtpAddress") {
                impersonation = .primarySmtpAddress(primary)
            }
        }
        if body.namespace == EWSNamespace.autodiscover {
            serverVersion = header?.child("RequestedServerVersion", namespace: EWSNamespace.autodiscover)
                .map { EWSServerVersion(rawValue: $0.trimmedText) }
        }
        return EWSParsedRequest(serverVersion: serverVersion, impersonation: impersonation,
            body: try parseBody(body, header: header))
    }

    private static func parseBody(_ body: EWSXMLElement, header: EWSXMLElement?) throws(EWSDecodingError)
        -> EWSParsedRequest.Body
    {
        do throws(EWSRequestError) {
            switch (body.namespace, body.localName) {
            case (EWSNamespace.messages, "Subscribe"):
                guard let streaming = body.ewsChild("StreamingSubscriptionRequest") else {
                    return .unsupported(element: body.children.first?.name ?? body.name)
                }
                var events: [EWSEventType] = []
                for element in streaming.ewsChild("EventTypes")?.ewsChildren("EventType") ?? [] {
                    guard let type = EWSEventType(rawValue: element.trimmedText) else {
                        throw EWSRequestError(code: "invalidEventType", detail: element.trimmedText)
                    }
                    events.append(type)
                }
                let all = EWSValue.bool(streaming.attribute("SubscribeToAllFolders") ?? "") ?? false
                let folders = try folderIDs(in: streaming.ewsChild("FolderIds"))
                return .subscribe(try SubscribeRequest(scope: all ? .allFolders : .folders(folders), eventTypes: events))
            case (EWSNamespace.messages, "GetStreamingEvents"):
                let ids = body.ewsChild("SubscriptionIds")?.ewsChildren("SubscriptionId").map(\.trimmedText) ?? []
                return .getStreamingEvents(try GetStreamingEventsRequest(subscriptionIDs: ids,
                    connectionTimeoutMinutes: try integer(body, "ConnectionTimeout")))
            case (EWSNamespace.messages, "Unsubscribe"):
                return .unsubscribe(try UnsubscribeRequest(subscriptionID: body.ewsText("SubscriptionId") ?? ""))
            case (EWSNamespace.messages, "SyncFolderItems"):
                guard let folder = try folderIDs(in: body.ewsChild("SyncFolderId")).first else {
                    throw EWSRequestError.empty("SyncFolderId")
                }
                return .syncFolderItems(try SyncFolderItemsRequest(
                    folder: folder, syncState: body.ewsText("SyncState"),
                    ignore: itemIDs(in: body.ewsChild("Ignore")),
                    maxChangesReturned: try integer(body, "MaxChangesReturned"),
                    scope: body.ewsText("SyncScope").flatMap(EWSSyncScope.init(rawValue:)),
                    shape: try shape(body.ewsChild("ItemShape"))))
            case (EWSNamespace.messages, "SyncFolderHierarchy"):
                let folderShape = body.ewsChild("FolderShape")
                return .syncFolderHierarchy(SyncFolderHierarchyRequest(
                    folder: try folderIDs(in: body.ewsChild("SyncFolderId")).first,
                    syncState: body.ewsText("SyncState"), shape: try shape(folderShape),
                    additionalProperties: folderShape?.ewsChild("AdditionalProperties")?.ewsChildren("FieldURI")
                        .compactMap { $0.attribute("FieldURI") } ?? []))
            case (EWSNamespace.messages, "GetItem"):
                let itemShape = body.ewsChild("ItemShape")
                let properties = itemShape?.ewsChild("AdditionalProperties")?.ewsChildren("FieldURI")
                    .compactMap { $0.attribute("FieldURI").flatMap(EWSItemProperty.init(rawValue:)) } ?? []
                return .getItem(try GetItemRequest(itemIDs: itemIDs(in: body.ewsChild("ItemIds")),
                    shape: try shape(itemShape), additionalProperties: properties))
            case (EWSNamespace.messages, "GetFolder"):
                return .getFolder(try GetFolderRequest(folders: try folderIDs(in: body.ewsChild("FolderIds")),
                    shape: try shape(body.ewsChild("FolderShape"))))
            case (EWSNamespace.autodiscover, "GetUserSettingsRequestMessage"):
                let request = body.child("Request", namespace: EWSNamespace.autodiscover)
                let any: Set<String> = [EWSNamespace.autodiscover]
                let users = request?.child("Users", in: any)?.children("User", in: any)
                    .compactMap { $0.child("Mailbox", in: any)?.trimmedText } ?? []
                let settings = request?.child("RequestedSettings", in: any)?.children("Setting", in: any)
                    .map(\.trimmedText) ?? []
                let endpoint = header?.child("To", namespace: EWSNamespace.addressing)?.trimmedText ?? ""
                let version = header?.child("RequestedServerVersion", namespace: EWSNamespace.autodiscover)?
                    .trimmedText ?? "Exchange2013"
                return .getUserSettings(try GetUserSettingsRequest(mailboxes: users, endpoint: endpoint,
                    settings: settings, requestedServerVersion: version))
            default:
                return .unsupported(element: body.name)
            }
        } catch {
            throw EWSDecodingError(code: .invalidValue, offset: 0, expected: "a schema-valid \(body.localName)",
                detail: error.description)
        }
    }

    private static func integer(_ parent: EWSXMLElement, _ name: String) throws(EWSRequestError) -> Int {
        guard let text = parent.ewsText(name), let value = Int(text) else {
            throw EWSRequestError(code: "invalidInteger", detail: "\(name) is missing or not an integer")
        }
        return value
    }

    private static func shape(_ element: EWSXMLElement?) throws(EWSRequestError) -> EWSBaseShape {
        guard let text = element?.ewsText("BaseShape") else { throw EWSRequestError.empty("BaseShape") }
        guard let shape = EWSBaseShape(rawValue: text) else {
            throw EWSRequestError(code: "invalidBaseShape", detail: text)
        }
        return shape
    }

    private static func folderIDs(in element: EWSXMLElement?) throws(EWSRequestError) -> [EWSFolderID] {
        var folders: [EWSFolderID] = []
        for child in element?.children ?? [] {
            guard let id = child.attribute("Id") else { continue }
            switch child.localName {
            case "DistinguishedFolderId":
                let mailbox = child.ewsChild("Mailbox")?.ewsText("EmailAddress")
                folders.append(.distinguished(id, changeKey: child.attribute("ChangeKey"), mailbox: mailbox))
            case "FolderId":
                folders.append(.id(id, changeKey: child.attribute("ChangeKey")))
            default:
                continue
            }
        }
        return folders
    }

    private static func itemIDs(in element: EWSXMLElement?) -> [EWSItemID] {
        (element?.ewsChildren("ItemId") ?? []).compactMap(EWSItemID.init(element:))
    }
}
