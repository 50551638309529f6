/// Writes GetStreamingEvents envelopes in the real-wire form of fact sheet §3.6: default-namespaced
/// `<Envelope>`, `soap11:`-prefixed Header/Body, no XML declaration, `m:Notification` and
/// `m:ErrorSubscriptionIds/m:SubscriptionId` in the messages namespace.
enum StreamEnvelopeRenderer {
    /// `envelopePerSubscription`: give each subscription's events their own envelope instead of
    /// sharing one (both happen on real servers; the driver picks at random to vary the framing).
    static func render(_ envelopes: [StreamConnectionState.Envelope], maxEvents: Int,
                       envelopePerSubscription: Bool = false) -> [String] {
        var output: [String] = []
        var batch: [(String, [SimEvent])] = []
        var batchCount = 0
        func flushBatch() {
            if !batch.isEmpty { output.append(notification(batch)) }
            batch = []
            batchCount = 0
        }
        for envelope in envelopes {
            switch envelope {
            case .events(let id, var events):
                if envelopePerSubscription, let current = batch.first?.0, current != id { flushBatch() }
                while !events.isEmpty {
                    let room = maxEvents - batchCount
                    let slice = Array(events.prefix(room))
                    events.removeFirst(slice.count)
                    if let index = batch.firstIndex(where: { $0.0 == id }) {
                        batch[index].1 += slice
                    } else {
                        batch.append((id, slice))
                    }
                    batchCount += slice.count
                    if batchCount >= maxEvents { flushBatch() }
                }
            case .heartbeat:
                flushBatch()
                output.append(status("OK"))
            case .closed:
                flushBatch()
                output.append(status("Closed"))
            case .emptyLists:
                flushBatch()
                output.append(emptyLists())
            case .tick:
                // gromox-only facts; written the Exchange way should one ever get here.
                flushBatch()
                output.append(status("OK"))
            case .refusal(let code, let message, let ids):
                flushBatch()
                output.append(error(code: code, message: message, ids: ids))
                output.append(status("Closed"))
            case .error(let code, let message, let ids):
                flushBatch()
                output.append(error(code: code, message: message, ids: ids))
            }
        }
        flushBatch()
        return output
    }

    private static let head =
        "<Envelope xmlns=\"http://schemas.xmlsoap.org/soap/envelope/\"><soap11:Header xmlns:soap11=\"http://schemas.xmlsoap.org/soap/envelope/\">"
        + "<ServerVersionInfo xmlns:xsd=\"http://www.w3.org/2001/XMLSchema\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" "
        + "MajorVersion=\"15\" MinorVersion=\"20\" MajorBuildNumber=\"7452\" MinorBuildNumber=\"50\" Version=\"V2018_01_08\" "
        + "xmlns=\"http://schemas.microsoft.com/exchange/services/2006/types\" /></soap11:Header>"
        + "<soap11:Body xmlns:soap11=\"http://schemas.xmlsoap.org/soap/envelope/\">"
        + "<m:GetStreamingEventsResponse xmlns:xsd=\"http://www.w3.org/2001/XMLSchema\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" "
        + "xmlns:t=\"http://schemas.microsoft.com/exchange/services/2006/types\" "
        + "xmlns:m=\"http://schemas.microsoft.com/exchange/services/2006/messages\"><m:ResponseMessages>"
    private static let tail = "</m:ResponseMessages></m:GetStreamingEventsResponse></soap11:Body></Envelope>"

    static func status(_ status: String) -> String {
        head + "<m:GetStreamingEventsResponseMessage ResponseClass=\"Success\"><m:ResponseCode>NoError</m:ResponseCode>"
            + "<m:ConnectionStatus>\(status)</m:ConnectionStatus></m:GetStreamingEventsResponseMessage>" + tail
    }

    /// The `end_streams` fault's gromox-style message in Exchange's framing (not schema-valid:
    /// the schema wants at least one Notification inside Notifications).
    static func emptyLists() -> String {
        head + "<m:GetStreamingEventsResponseMessage ResponseClass=\"Success\"><m:ResponseCode>NoError</m:ResponseCode>"
            + "<m:Notifications/><m:ErrorSubscriptionIds/><m:ConnectionStatus>OK</m:ConnectionStatus>"
            + "</m:GetStreamingEventsResponseMessage>" + tail
    }

    static func error(code: String, message: String, ids: [String]) -> String {
        var writer = XMLWriter()
        writer.raw(head)
        writer.element("m:GetStreamingEventsResponseMessage", ["ResponseClass": "Error"]) { w in
            w.element("m:MessageText", message)
            w.element("m:ResponseCode", code)
            w.element("m:DescriptiveLinkKey", "0")
            if !ids.isEmpty {
                w.element("m:ErrorSubscriptionIds") { w in
                    for id in ids { w.element("m:SubscriptionId", id) }
                }
            }
        }
        writer.raw(tail)
        return writer.output
    }

    static func notification(_ batch: [(String, [SimEvent])]) -> String {
        var writer = XMLWriter(capacity: 512 + 300 * batch.count)
        writer.raw(head)
        writer.element("m:GetStreamingEventsResponseMessage", ["ResponseClass": "Success"]) { w in
            w.element("m:ResponseCode", "NoError")
            w.element("m:Notifications") { w in
                for (id, events) in batch {
                    w.element("m:Notification") { w in
                        w.element("t:SubscriptionId", id)
                        for event in events { writeEvent(event, &w) }
                    }
                }
            }
        }
        writer.raw(tail)
        return writer.output
    }

    private static func writeEvent(_ event: SimEvent, _ w: inout XMLWriter) {
        w.element("t:" + event.kind.rawValue) { w in
            w.element("t:TimeStamp", ISOTime.string(event.time))
            let idElement = event.isFolder ? "t:FolderId" : "t:ItemId"
            if let changeKey = event.changeKey {
                w.empty(idElement, ["Id": event.id, "ChangeKey": changeKey])
            } else {
                w.empty(idElement, ["Id": event.id])
            }
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
