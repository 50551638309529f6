extension EWSResponseDecoder {
    /// Decodes one parsed envelope. GetStreamingEventsResponse bodies take the allocation-light
    /// path over the flat document (the hot path of every stream); anything else is converted to
    /// an ``EWSXMLElement`` tree and decoded by ``decode(envelope:)``.
    static func decode(document: FlatXMLDocument) throws(EWSDecodingError) -> EWSResponse {
        guard !document.nodes.isEmpty else {
            throw EWSDecodingError(code: .truncated, offset: 0, expected: "a root element")
        }
        if document.known(0) == .envelope, document.names[Int(document.nodes[0].name)].isSOAP,
            let body = document.firstChild(of: 0, .body),
            case let response = document.nodes[Int(body)].firstChild, response >= 0,
            document.known(response) == .getStreamingEventsResponse,
            EWSNamespace.ewsFamily.contains(document.qualifiedName(response).namespace)
        {
            var decoder = FlatStreamingDecoder(document: document)
            return .getStreamingEvents(try decoder.decode(response: response))
        }
        return try decode(envelope: document.element())
    }
}

/// GetStreamingEventsResponse decoding over ``FlatXMLDocument``: same rules as the tree-based
/// ``StreamingEnvelope/decode(response:)`` (children matched by local name inside known parents).
struct FlatStreamingDecoder {
    let document: FlatXMLDocument
    var output: [StreamingEnvelope] = []

    init(document: FlatXMLDocument) { self.document = document }

    mutating func decode(response: Int32) throws(EWSDecodingError) -> [StreamingEnvelope] {
        guard let messages = document.firstChild(of: response, .responseMessages) else {
            throw EWSDecodingError(code: .unexpectedStructure, offset: 0,
                expected: "ResponseMessages inside GetStreamingEventsResponse")
        }
        try document.forEachChild(of: messages) { (message) throws(EWSDecodingError) in try decode(message: message) }
        return output
    }

    private mutating func decode(message: Int32) throws(EWSDecodingError) {
        let classText = document.attribute(message, .responseClass) ?? ""
        guard let responseClass = EWSResponseClass(rawValue: classText) else {
            throw EWSDecodingError(code: .unexpectedStructure, offset: 0,
                expected: "ResponseClass Success|Warning|Error", detail: "got '\(classText)'")
        }
        var responseCode: String?
        var messageText: String?
        var messageXML: [String: String] = [:]
        var notifications: [SubscriptionNotification] = []
        var errorIDs: [String] = []
        var connectionStatus: String?
        try document.forEachChild(of: message) { (child) throws(EWSDecodingError) in
            switch document.known(child) {
            case .responseCode: responseCode = document.trimmedText(child)
            case .messageText: messageText = document.trimmedText(child)
            case .messageXml: messageXML = EWSResponseStatus.values(ofMessageXML: document.element(child))
            case .notifications:
                try document.forEachChild(of: child) { (notification) throws(EWSDecodingError) in
                    if document.known(notification) == .notification {
                        notifications.append(try decode(notification: notification))
                    }
                }
            case .errorSubscriptionIds:
                try document.forEachChild(of: child) { (id) throws(EWSDecodingError) in
                    if document.known(id) == .subscriptionId { errorIDs.append(document.trimmedText(id)) }
                }
            case .connectionStatus: connectionStatus = document.trimmedText(child)
            default: break
            }
        }
        let code = responseCode.flatMap { $0.isEmpty ? nil : $0 } ?? (responseClass == .error ? "ErrorUnknown" : "NoError")
        let status = EWSResponseStatus(responseClass: responseClass, responseCode: code, messageText: messageText,
            messageXML: messageXML)
        try StreamingEnvelope.appendMessage(status: status, notifications: notifications, errorIDs: errorIDs,
                                            connectionStatus: connectionStatus, to: &output)
    }

    private func decode(notification: Int32) throws(EWSDecodingError) -> SubscriptionNotification {
        var subscriptionID: String?
        var previousWatermark: String?
        var moreEvents: Bool?
        var events: [StreamingEvent] = []
        try document.forEachChild(of: notification) { (child) throws(EWSDecodingError) in
            let known = document.known(child)
            switch known {
            case .subscriptionId: subscriptionID = document.trimmedText(child)
            case .previousWatermark: previousWatermark = document.trimmedText(child)
            case .moreEvents: moreEvents = EWSValue.bool(document.trimmedText(child))
            default:
                if let kind = Self.eventKind(known) { events.append(decode(event: child, kind: kind)) }
            }
        }
        guard let subscriptionID, !subscriptionID.isEmpty else {
            throw EWSDecodingError(code: .unexpectedStructure, offset: 0, expected: "SubscriptionId in Notification")
        }
        return SubscriptionNotification(subscriptionID: subscriptionID, previousWatermark: previousWatermark,
            moreEvents: moreEvents, events: events)
    }

    private static func eventKind(_ known: KnownName) -> StreamingEvent.Kind? {
        switch known {
        case .newMailEvent: .newMail
        case .createdEvent: .created
        case .modifiedEvent: .modified
        case .deletedEvent: .deleted
        case .movedEvent: .moved
        case .copiedEvent: .copied
        case .freeBusyChangedEvent: .freeBusyChanged
        case .statusEvent: .status
        default: nil
        }
    }

    private func decode(event node: Int32, kind: StreamingEvent.Kind) -> StreamingEvent {
        var event = StreamingEvent(kind: kind)
        var child = document.nodes[Int(node)].firstChild
        while child >= 0 {
            switch document.known(child) {
            case .watermark: event.watermark = document.trimmedText(child)
            case .timeStamp: event.timeStamp = document.trimmedText(child)
            case .itemId: event.itemID = id(child)
            case .folderId: event.folderID = id(child)
            case .parentFolderId: event.parentFolderID = id(child)
            case .oldItemId: event.oldItemID = id(child)
            case .oldFolderId: event.oldFolderID = id(child)
            case .oldParentFolderId: event.oldParentFolderID = id(child)
            case .unreadCount: event.unreadCount = Int(document.trimmedText(child))
            default: break
            }
            child = document.nodes[Int(child)].nextSibling
        }
        return event
    }

    private func id(_ node: Int32) -> EWSItemID? {
        guard let id = document.attribute(node, .id) else { return nil }
        return EWSItemID(id: id, changeKey: document.attribute(node, .changeKey))
    }
}
