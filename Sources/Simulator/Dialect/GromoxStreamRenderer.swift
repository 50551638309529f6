/// GetStreamingEvents messages as gromox 3.10 writes them (exch/ews/ews.cpp `EWSContext::notify`,
/// checked against captured streams): one `SOAP:Envelope` per message, only the body's first with
/// an XML declaration; every message carries `m:Notifications`, `m:ErrorSubscriptionIds` (empty
/// elements when there is nothing to say; `SubscriptionId` children in no namespace) and
/// `m:ConnectionStatus`. A wake-up lists every subscription of the connection: its events (at most
/// 50, `t:MoreEvents` says whether more follow) or a `t:StatusEvent`. Errors make the message
/// ResponseClass="Error" with ErrorInvalidSubscription; a message that ends the stream says
/// Closed and is followed by a goodbye (Success, empty lists, Closed).
enum GromoxStreamRenderer {
    /// `EWSContext::getEvents` hands out at most 50 events per subscription per message.
    static let eventsPerNotification = 50

    /// Renders one drain of a connection. `attached` is what the connection holds after it.
    static func render(_ envelopes: [StreamConnectionState.Envelope], attached: [String], declarationFirst: Bool,
                       pretty: Bool) -> [String] {
        var output: [String] = []
        var wake = Wake()
        func emit(_ message: Message) {
            output.append(render(message, declaration: declarationFirst && output.isEmpty, pretty: pretty))
        }
        func flushWake(status: String) {
            guard wake.hasContent else { return }
            var pending = wake
            wake = Wake()
            repeat {
                let (message, rest) = pending.message(attached: attached, status: status)
                emit(message)
                pending = rest
            } while pending.hasEvents
        }
        for envelope in envelopes {
            switch envelope {
            case .heartbeat, .emptyLists:
                flushWake(status: "OK")
                emit(Message(status: "OK"))
            case .refusal(let code, let text, let ids):
                flushWake(status: "OK")
                emit(Message(error: (code, text), errorIds: ids, status: "Closed"))
            case .tick(let ids):
                wake.ticked = ids
            case .events(let id, let events):
                wake.add(id, events)
            case .error(let code, let text, let ids):
                if wake.error == nil { wake.error = (code, text) }
                wake.errorIds += ids
            case .closed:
                flushWake(status: "Closed")
                emit(Message(status: "Closed"))
            }
        }
        flushWake(status: "OK")
        return output
    }

    /// What one wake-up collected.
    struct Wake {
        var events: [(id: String, events: [SimEvent])] = []
        var ticked: [String]?
        var error: (String, String)?
        var errorIds: [String] = []

        var hasEvents: Bool { events.contains { !$0.events.isEmpty } }
        var hasContent: Bool { hasEvents || ticked != nil || !errorIds.isEmpty }

        mutating func add(_ id: String, _ more: [SimEvent]) {
            if let index = events.firstIndex(where: { $0.id == id }) { events[index].events += more } else { events.append((id, more)) }
        }

        /// The next message, and what is left for the one after it (events beyond 50 each).
        func message(attached: [String], status: String) -> (Message, Wake) {
            var rest = Wake()
            var notifications: [Notification] = []
            var ids = ticked ?? attached
            for (id, _) in events where !ids.contains(id) { ids.append(id) }
            for id in ids {
                let all = events.first { $0.id == id }?.events ?? []
                let slice = Array(all.prefix(eventsPerNotification))
                if all.count > slice.count { rest.add(id, Array(all.dropFirst(slice.count))) }
                notifications.append(Notification(id: id, events: slice, more: all.count > slice.count))
            }
            let closing = status == "Closed" && !rest.hasEvents
            return (Message(error: error, notifications: notifications, errorIds: errorIds, status: closing ? "Closed" : "OK"), rest)
        }
    }

    struct Notification {
        var id: String
        /// Empty: a `t:StatusEvent` stands in.
        var events: [SimEvent]
        var more: Bool
    }

    struct Message {
        var error: (String, String)?
        var notifications: [Notification] = []
        var errorIds: [String] = []
        var status: String
    }

    static func render(_ message: Message, declaration: Bool, pretty: Bool) -> String {
        GromoxEnvelope.document(declaration: declaration, pretty: pretty, capacity: 1024 + 400 * message.notifications.count) { w in
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
            if notification.events.isEmpty { w.empty("t:StatusEvent") }
            for event in notification.events { write(event, &w) }
        }
    }

    /// gromox's events name objects by id only (no ChangeKey) and stamp nanoseconds.
    private static func write(_ event: SimEvent, _ w: inout XMLWriter) {
        w.element("t:" + event.kind.rawValue) { w in
            w.element("t:TimeStamp", ISOTime.nanos(event.time))
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
