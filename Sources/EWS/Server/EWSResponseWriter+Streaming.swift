public import Foundation

extension EWSResponseWriter {
    /// One GetStreamingEvents envelope in the real Exchange wire style: no XML declaration, a
    /// default-namespaced `Envelope` with `soap11:` prefixed Header/Body, `m:Notification` and
    /// `m:ErrorSubscriptionIds/m:SubscriptionId` in the messages namespace (fact sheet §3.2, §3.6).
    /// Write each as its own flushed chunk of the chunked body.
    public static func streaming(_ envelope: StreamingEnvelope, serverVersion: ServerVersionInfo? = .exchangeOnline)
        -> Data
    {
        if case .fault(let fault) = envelope { return self.fault(fault) }
        var writer = XMLWriter()
        writer.open("Envelope", ["xmlns": EWSNamespace.soap])
        if let serverVersion {
            writer.open("soap11:Header", ["xmlns:soap11": EWSNamespace.soap])
            writeServerVersion(serverVersion, prefix: "", to: &writer)
            writer.close("soap11:Header")
        }
        writer.open("soap11:Body", ["xmlns:soap11": EWSNamespace.soap])
        operationResponse(.getStreamingEvents, to: &writer) { writer in
            let element = "m:\(EWSOperation.getStreamingEvents.responseMessageElement)"
            switch envelope {
            case .heartbeat, .closed:
                openMessage(.getStreamingEvents, .noError, to: &writer)
                writer.element("m:ConnectionStatus", envelope == .heartbeat ? "OK" : "Closed")
            case .notifications(let notifications):
                openMessage(.getStreamingEvents, .noError, to: &writer)
                writer.open("m:Notifications")
                for notification in notifications { write(notification, to: &writer) }
                writer.close("m:Notifications")
            case .error(let error):
                openMessage(.getStreamingEvents, error.status, to: &writer)
                if !error.subscriptionIDs.isEmpty {
                    writer.open("m:ErrorSubscriptionIds")
                    for id in error.subscriptionIDs { writer.element("m:SubscriptionId", id) }
                    writer.close("m:ErrorSubscriptionIds")
                }
            case .fault:
                break  // handled above
            }
            writer.close(element)
        }
        writer.close("soap11:Body")
        writer.close("Envelope")
        return Data(writer.output.utf8)
    }

    private static func write(_ notification: SubscriptionNotification, to writer: inout XMLWriter) {
        writer.open("m:Notification")
        writer.element("t:SubscriptionId", notification.subscriptionID)
        if let watermark = notification.previousWatermark { writer.element("t:PreviousWatermark", watermark) }
        if let more = notification.moreEvents { writer.element("t:MoreEvents", more ? "true" : "false") }
        for event in notification.events { write(event, to: &writer) }
        writer.close("m:Notification")
    }

    /// Event children in XSD order: Watermark?, TimeStamp, ItemId|FolderId, ParentFolderId,
    /// (OldItemId|OldFolderId, OldParentFolderId) for Moved/Copied, UnreadCount? for Modified.
    private static func write(_ event: StreamingEvent, to writer: inout XMLWriter) {
        let name = "t:\(event.kind.rawValue)"
        writer.open(name)
        if let watermark = event.watermark { writer.element("t:Watermark", watermark) }
        if event.kind != .status {
            writer.element("t:TimeStamp", event.timeStamp ?? "")
            writeID("t:ItemId", event.itemID, to: &writer)
            writeID("t:FolderId", event.folderID, to: &writer)
            writeID("t:ParentFolderId", event.parentFolderID, to: &writer)
            if event.kind == .moved || event.kind == .copied {
                writeID("t:OldItemId", event.oldItemID, to: &writer)
                writeID("t:OldFolderId", event.oldFolderID, to: &writer)
                writeID("t:OldParentFolderId", event.oldParentFolderID, to: &writer)
            }
            if event.kind == .modified, let count = event.unreadCount { writer.element("t:UnreadCount", String(count)) }
        }
        writer.close(name)
    }

    private static func writeID(_ name: String, _ id: EWSItemID?, to writer: inout XMLWriter) {
        guard let id else { return }
        writer.empty(name, ["Id": id.id, "ChangeKey": id.changeKey])
    }
}
