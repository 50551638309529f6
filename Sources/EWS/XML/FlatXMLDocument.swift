/// Names the decoders look for, resolved once per interned libxml2 name so the hot path
/// switches on a small enum instead of comparing strings.
enum KnownName: UInt8 {
    case other
    // SOAP
    case envelope, header, body, fault
    // response structure
    case getStreamingEventsResponse, responseMessages, getStreamingEventsResponseMessage
    case responseCode, messageText, messageXml, descriptiveLinkKey
    case notifications, notification, subscriptionId, previousWatermark, moreEvents
    case errorSubscriptionIds, connectionStatus
    // event content
    case watermark, timeStamp, itemId, folderId, parentFolderId, oldItemId, oldFolderId, oldParentFolderId
    case unreadCount, value
    // events
    case newMailEvent, createdEvent, modifiedEvent, deletedEvent, movedEvent, copiedEvent
    case freeBusyChangedEvent, statusEvent
    // attributes
    case id, changeKey, responseClass, name

    static let byLocalName: [String: KnownName] = [
        "Envelope": .envelope, "Header": .header, "Body": .body, "Fault": .fault,
        "GetStreamingEventsResponse": .getStreamingEventsResponse, "ResponseMessages": .responseMessages,
        "GetStreamingEventsResponseMessage": .getStreamingEventsResponseMessage, "ResponseCode": .responseCode,
        "MessageText": .messageText, "MessageXml": .messageXml, "DescriptiveLinkKey": .descriptiveLinkKey,
        "Notifications": .notifications, "Notification": .notification, "SubscriptionId": .subscriptionId,
        "PreviousWatermark": .previousWatermark, "MoreEvents": .moreEvents,
        "ErrorSubscriptionIds": .errorSubscriptionIds, "ConnectionStatus": .connectionStatus,
        "Watermark": .watermark, "TimeStamp": .timeStamp, "ItemId": .itemId, "FolderId": .folderId,
        "ParentFolderId": .parentFolderId, "OldItemId": .oldItemId, "OldFolderId": .oldFolderId,
        "OldParentFolderId": .oldParentFolderId, "UnreadCount": .unreadCount, "Value": .value,
        "NewMailEvent": .newMailEvent, "CreatedEvent": .createdEvent, "ModifiedEvent": .modifiedEvent,
        "DeletedEvent": .deletedEvent, "MovedEvent": .movedEvent, "CopiedEvent": .copiedEvent,
        "FreeBusyChangedEvent": .freeBusyChangedEvent, "StatusEvent": .statusEvent,
        "Id": .id, "ChangeKey": .changeKey, "ResponseClass": .responseClass, "Name": .name,
    ]
}

/// One parsed document in flat, index-linked arrays. The storage is reused from document to
/// document (capacity bounded by the largest envelope), so decoding a stream allocates almost
/// nothing per element; only the final Swift values (ids, timestamps) are allocated.
struct FlatXMLDocument {
    struct Name {
        var qualified: XMLName
        var known: KnownName
        /// The namespace is one of the EWS/SOAP ones this module knows (or none).
        var isSOAP: Bool
    }

    struct Node {
        var name: Int32
        var firstChild: Int32 = -1
        var lastChild: Int32 = -1
        var nextSibling: Int32 = -1
        var attributeStart: Int32
        var attributeCount: Int32 = 0
        /// Character data directly inside the element, up to its first child element.
        var textStart: Int32 = -1
        var textEnd: Int32 = -1
    }

    struct Attribute {
        var name: Int32
        var valueStart: Int32
        var valueEnd: Int32
    }

    /// Interned names; stable across documents of one parser context.
    var names: [Name] = []
    var nodes: [Node] = []
    var attributes: [Attribute] = []
    /// Attribute values and text, UTF-8.
    var bytes: [UInt8] = []

    mutating func reset() {
        nodes.removeAll(keepingCapacity: true)
        attributes.removeAll(keepingCapacity: true)
        bytes.removeAll(keepingCapacity: true)
    }

    // MARK: reading

    @inline(__always) func known(_ node: Int32) -> KnownName { names[Int(nodes[Int(node)].name)].known }

    @inline(__always) func qualifiedName(_ node: Int32) -> XMLName { names[Int(nodes[Int(node)].name)].qualified }

    /// Calls `body` for each child element, in order.
    @inline(__always) func forEachChild(of node: Int32, _ body: (Int32) throws(EWSDecodingError) -> Void)
        throws(EWSDecodingError)
    {
        var child = nodes[Int(node)].firstChild
        while child >= 0 {
            try body(child)
            child = nodes[Int(child)].nextSibling
        }
    }

    func firstChild(of node: Int32, _ known: KnownName) -> Int32? {
        var child = nodes[Int(node)].firstChild
        while child >= 0 {
            if self.known(child) == known { return child }
            child = nodes[Int(child)].nextSibling
        }
        return nil
    }

    func string(_ start: Int32, _ end: Int32) -> String {
        guard start >= 0, end > start else { return "" }
        return bytes.withUnsafeBufferPointer { buffer in
            String(decoding: UnsafeBufferPointer(rebasing: buffer[Int(start)..<Int(end)]), as: UTF8.self)
        }
    }

    /// Text with surrounding XML whitespace removed.
    func trimmedText(_ node: Int32) -> String {
        var start = nodes[Int(node)].textStart
        var end = nodes[Int(node)].textEnd
        guard start >= 0 else { return "" }
        while start < end && Self.isSpace(bytes[Int(start)]) { start += 1 }
        while end > start && Self.isSpace(bytes[Int(end - 1)]) { end -= 1 }
        return string(start, end)
    }

    func attribute(_ node: Int32, _ known: KnownName) -> String? {
        let element = nodes[Int(node)]
        var index = element.attributeStart
        let end = index + element.attributeCount
        while index < end {
            let attribute = attributes[Int(index)]
            if names[Int(attribute.name)].known == known && names[Int(attribute.name)].qualified.namespace.isEmpty {
                return string(attribute.valueStart, attribute.valueEnd)
            }
            index += 1
        }
        return nil
    }

    @inline(__always) static func isSpace(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09
    }

    // MARK: conversion

    /// The public tree form of `node` and its descendants.
    func element(_ node: Int32 = 0) -> EWSXMLElement {
        let element = nodes[Int(node)]
        var attributes: [XMLAttribute] = []
        if element.attributeCount > 0 {
            for index in element.attributeStart..<(element.attributeStart + element.attributeCount) {
                let attribute = self.attributes[Int(index)]
                attributes.append(XMLAttribute(name: names[Int(attribute.name)].qualified,
                    value: string(attribute.valueStart, attribute.valueEnd)))
            }
        }
        var children: [EWSXMLElement] = []
        var child = element.firstChild
        while child >= 0 {
            children.append(self.element(child))
            child = nodes[Int(child)].nextSibling
        }
        var text = ""
        if element.textStart >= 0 {
            let isWhitespace = bytes[Int(element.textStart)..<Int(element.textEnd)].allSatisfy(Self.isSpace)
            if children.isEmpty || !isWhitespace { text = string(element.textStart, element.textEnd) }
        }
        return EWSXMLElement(name: names[Int(element.name)].qualified, attributes: attributes, children: children,
            text: text)
    }
}
