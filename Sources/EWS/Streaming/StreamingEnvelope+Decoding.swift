extension StreamingEnvelope {
    /// Decodes one `GetStreamingEventsResponse` root element (already located inside Body).
    static func decode(response: EWSXMLElement) throws(EWSDecodingError) -> [StreamingEnvelope] {
        guard let messages = response.ewsChild("ResponseMessages") else {
            throw EWSDecodingError(code: .unexpectedStructure, offset: 0,
                expected: "ResponseMessages inside GetStreamingEventsResponse")
        }
        var result: [StreamingEnvelope] = []
        for message in messages.children {
            try decode(message: message, into: &result)
        }
        return result
    }

    private static func decode(message: EWSXMLElement, into result: inout [StreamingEnvelope]) throws(EWSDecodingError) {
        let status = try EWSResponseStatus(element: message)
        var notifications: [SubscriptionNotification] = []
        var errorIDs: [String] = []
        var connectionStatus: String?
        for child in message.children {
            switch child.localName {
            case "Notifications":
                for notification in child.children where notification.localName == "Notification" {
                    notifications.append(try decode(notification: notification))
                }
            case "ErrorSubscriptionIds":
                errorIDs += child.children.filter { $0.localName == "SubscriptionId" }.map(\.trimmedText)
            case "ConnectionStatus":
                connectionStatus = child.trimmedText
            default:
                continue  // ResponseCode etc. were read by EWSResponseStatus; unknown ones are skipped.
            }
        }
        try appendMessage(status: status, notifications: notifications, errorIDs: errorIDs,
                          connectionStatus: connectionStatus, to: &result)
    }

    /// What one `m:GetStreamingEventsResponseMessage` adds to the stream, in order: its
    /// notifications, its error, its connection status. Both decoders (tree and flat) end here.
    static func appendMessage(status: EWSResponseStatus, notifications: [SubscriptionNotification], errorIDs: [String],
                              connectionStatus: String?, to result: inout [StreamingEnvelope]) throws(EWSDecodingError) {
        if !notifications.isEmpty { result.append(.notifications(notifications)) }
        // What the server says makes a message an error, never which elements are present: gromox
        // sends an empty ErrorSubscriptionIds in every successful message (fact sheet §3.3).
        if !status.isSuccess {
            result.append(.error(StreamingSubscriptionError(status: status, subscriptionIDs: errorIDs)))
        }
        switch connectionStatus {
        case "OK": result.append(.heartbeat)
        case "Closed": result.append(.closed)
        case nil: break
        case let other?:
            throw EWSDecodingError(code: .invalidValue, offset: 0, expected: "ConnectionStatus OK or Closed",
                detail: "got '\(other)'")
        }
    }

    static func decode(notification: EWSXMLElement) throws(EWSDecodingError) -> SubscriptionNotification {
        var subscriptionID: String?
        var previousWatermark: String?
        var moreEvents: Bool?
        var events: [StreamingEvent] = []
        for child in notification.children {
            switch child.localName {
            case "SubscriptionId": subscriptionID = child.trimmedText
            case "PreviousWatermark": previousWatermark = child.trimmedText
            case "MoreEvents": moreEvents = EWSValue.bool(child.trimmedText)
            default:
                guard let kind = StreamingEvent.Kind(rawValue: child.localName) else { continue }
                events.append(decode(event: child, kind: kind))
            }
        }
        guard let subscriptionID, !subscriptionID.isEmpty else {
            throw EWSDecodingError(code: .unexpectedStructure, offset: 0, expected: "SubscriptionId in Notification")
        }
        return SubscriptionNotification(subscriptionID: subscriptionID, previousWatermark: previousWatermark,
            moreEvents: moreEvents, events: events)
    }

    static func decode(event element: EWSXMLElement, kind: StreamingEvent.Kind) -> StreamingEvent {
        var event = StreamingEvent(kind: kind)
        for child in element.children {
            switch child.localName {
            case "Watermark": event.watermark = child.trimmedText
            case "TimeStamp": event.timeStamp = child.trimmedText
            case "ItemId": event.itemID = EWSItemID(element: child)
            case "FolderId": event.folderID = EWSItemID(element: child)
            case "ParentFolderId": event.parentFolderID = EWSItemID(element: child)
            case "OldItemId": event.oldItemID = EWSItemID(element: child)
            case "OldFolderId": event.oldFolderID = EWSItemID(element: child)
            case "OldParentFolderId": event.oldParentFolderID = EWSItemID(element: child)
            case "UnreadCount": event.unreadCount = Int(child.trimmedText)
            default: continue
            }
        }
        return event
    }
}

extension EWSItemID {
    /// Reads `Id`/`ChangeKey` attributes of an id element (`t:ItemId`, `t:FolderId`, ...).
    init?(element: EWSXMLElement) {
        guard let id = element.attribute("Id") else { return nil }
        self.init(id: id, changeKey: element.attribute("ChangeKey"))
    }
}

/// xs:boolean and xs:int readers.
enum EWSValue {
    static func bool(_ text: String) -> Bool? {
        switch text {
        case "true", "1": true
        case "false", "0": false
        default: nil
        }
    }
}
