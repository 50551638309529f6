/// GetStreamingEvents messages as gromox writes them (exch/ews/ews.cpp, `EWSContext::notify`):
/// each a pretty-printed `SOAP:Envelope`, only the body's first with an XML declaration; every
/// message carries `m:Notifications`, `m:ErrorSubscriptionIds` (empty when there is nothing to
/// say, with `SubscriptionId` children in no namespace) and `m:ConnectionStatus`; notifications
/// carry `t:MoreEvents`; an error that leaves nothing on the connection says Closed in the same
/// message.
enum GromoxStreamRenderer {
    /// gromox hands out at most 50 events per subscription per message (`EWSContext::getEvents`).
    static let eventsPerNotification = 50

    static func render(_ envelopes: [StreamConnectionState.Envelope], maxEvents: Int, declarationFirst: Bool) -> [String] {
        var output: [String] = []
        var batch: [(id: String, events: [SimEvent])] = []
        func emit(_ message: Message) {
            output.append(render(message, declaration: declarationFirst && output.isEmpty))
        }
        func flushBatch() {
            while !batch.isEmpty {
                var notifications: [Notification] = []
                for index in batch.indices {
                    let slice = Array(batch[index].events.prefix(eventsPerNotification))
                    batch[index].events.removeFirst(slice.count)
                    notifications.append(Notification(id: batch[index].id, events: slice,
                                                      more: !batch[index].events.isEmpty))
                }
                batch.removeAll { $0.events.isEmpty }
                emit(Message(notifications: notifications, status: "OK"))
            }
        }
        var index = 0
        while index < envelopes.count {
            switch envelopes[index] {
            case .events(let id, let events):
                if let at = batch.firstIndex(where: { $0.id == id }) { batch[at].events += events } else { batch.append((id, events)) }
            case .heartbeat, .emptyLists:
                flushBatch()
                emit(Message(status: "OK"))
            case .closed:
                flushBatch()
                emit(Message(status: "Closed"))
            case .error(let code, let text, let ids):
                flushBatch()
                let closing = index + 1 < envelopes.count && envelopes[index + 1] == .closed
                if closing { index += 1 }
                emit(Message(error: (code, text), errorIds: ids, status: closing ? "Closed" : "OK"))
            }
            index += 1
        }
        flushBatch()
        return output
    }

    struct Notification {
        var id: String
        var events: [SimEvent]
        var more: Bool
    }

    struct Message {
        var error: (String, String)?
        var notifications: [Notification] = []
        var errorIds: [String] = []
        var status: String

        init(error: (String, String)? = nil, notifications: [Notification] = [], errorIds: [String] = [], status: String) {
            self.error = error
            self.notifications = notifications
            self.errorIds = errorIds
            self.status = status
        }
    }

    static func render(_ message: Message, declaration: Bool) -> String {
        GromoxEnvelope.document(declaration: declaration, capacity: 1024 + 400 * message.notifications.count) { w in
            w.element("m:GetStreamingEventsResponse", ["xmlns:m": NS.messages, "xmlns:t": NS.types]) { w in
                w.element("m:ResponseMessages") { w in
                    EWSEnvelope.message(&w, "GetStreamingEvents", error: message.error) { w in
                        w.element("m:Notifications") { w in
                            for notification in message.notifications { write(notification, &w) }
                        }
                        w.element("m:ErrorSubscriptionIds") { w in
                            for id in message.errorIds { w.element("SubscriptionId", id) }
                        }
                        w.element("m:ConnectionStatus", message.status)
                    }
                }
            }
        }
    }

    private static func write(_ notification: Notification, _ w: inout XMLWriter) {
        w.element("m:Notification") { w in
            w.element("t:SubscriptionId", notification.id)
            w.element("t:MoreEvents", notification.more ? "true" : "false")
            for event in notification.events { write(event, &w) }
        }
    }

    /// gromox's events name objects by entry id only: no ChangeKey.
    private static func write(_ event: SimEvent, _ w: inout XMLWriter) {
        w.element("t:" + event.kind.rawValue) { w in
            w.element("t:TimeStamp", ISOTime.string(event.time))
            w.empty(event.isFolder ? "t:FolderId" : "t:ItemId", ["Id": event.id])
            w.empty("t:ParentFolderId", ["Id": event.parentFolderId])
            if event.kind == .moved || event.kind == .copied, let oldId = event.oldId, let oldParent = event.oldParentFolderId {
                w.empty(event.isFolder ? "t:OldFolderId" : "t:OldItemId", ["Id": oldId])
                w.empty("t:OldParentFolderId", ["Id": oldParent])
            }
            if event.kind == .modified, let unread = event.unreadCount {
                w.element("t:UnreadCount", String(unread))
            }
        }
    }
}
