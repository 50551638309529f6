@testable import Simulator

/// One streaming message, kept both parsed and as the bytes it came in.
struct StreamMessage {
    var text: String
    var node: SimXMLNode

    var status: String? { Soap.connectionStatus(node) }
    var code: String { Soap.code(node) }
    var responseClass: String? { node.attribute("ResponseClass") }
    var notifications: [(String, [String])] { Soap.notifications(node) }

    /// Every event of every notification as `Name(Item|Folder)`, e.g. `ModifiedEvent(Folder)`.
    var events: [String] {
        node.child(NS.messages, "Notifications")?.children(NS.messages, "Notification").flatMap { notification in
            notification.children.filter { $0.localName.hasSuffix("Event") }.map { event in
                let object = event.child(NS.types, "FolderId") != nil ? "Folder"
                    : event.child(NS.types, "ItemId") != nil ? "Item" : ""
                return "\(event.localName)(\(object))"
            }
        } ?? []
    }

    var moreEvents: [String] {
        node.child(NS.messages, "Notifications")?.children(NS.messages, "Notification")
            .compactMap { $0.child(NS.types, "MoreEvents")?.trimmedText } ?? []
    }
}

extension RawStream {
    /// The next message, or a failure when the body ended.
    func message() async throws -> StreamMessage {
        guard let text = await nextEnvelope() else { throw RawStream.Failure(reason: "stream ended") }
        return StreamMessage(text: text, node: try Soap.streamMessage(text))
    }
}
