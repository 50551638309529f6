import Foundation

/// The `/_sim/` JSON control and ground-truth API. It hands out credentials, which is why the
/// server listens on loopback unless told otherwise.
struct ControlAPI {
    let world: SimWorld
    let traffic: TrafficGenerator
    let baseURL: String

    func handle(_ request: SimRequest) -> SimResponse {
        let parts = request.path.split(separator: "/").map(String.init)  // ["_sim", ...]
        let body = (try? JSONSerialization.jsonObject(with: Data(request.body))) as? [String: Any] ?? [:]
        do throws(SimError) {
            switch (request.method, Array(parts.dropFirst())) {
            case (.GET, ["tenants"]):
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.withoutEscapingSlashes, .sortedKeys]
                let data = try? encoder.encode(world.tenantInfos(baseURL: baseURL))
                return .json(.ok, Array(data ?? Data()))
            case (.POST, ["tenants"]):
                return json(try setTenant(body))
            case (.POST, ["access"]):
                return json(try setAccess(body))
            case (.GET, ["access"]):
                return json(["rules": world.accessRules().map(Self.accessJSON)])
            case (.DELETE, ["access"]):
                world.resetAccess(mailbox: request.query["mailbox"])
                return json(["ok": true])
            case (.POST, ["restart"]):
                return json(try restart(body))
            case (.POST, ["deliver"]):
                guard let mailbox = body["mailbox"] as? String else { throw SimError(.invalidArgument, "mailbox required") }
                let ids = try world.deliver(mailbox: mailbox, count: body["count"] as? Int ?? 1,
                                            folder: body["folder"] as? String ?? "inbox")
                return json(["item_ids": ids])
            case (.POST, ["traffic"]):
                var mix = TrafficGenerator.Mix()
                for (key, value) in body["mix"] as? [String: Any] ?? [:] {
                    if let number = value as? Double { mix.set(key, number) } else if let number = value as? Int { mix.set(key, Double(number)) }
                }
                let rate = (body["rate"] as? Double) ?? Double(body["rate"] as? Int ?? 0)
                traffic.set(rate: rate, mix: mix)
                return json(["rate": rate])
            case (.GET, let path) where path.count == 3 && path[0] == "mailboxes" && path[2] == "items":
                let smtp = path[1]
                let folder = request.query["folder"] ?? "inbox"
                let items = try world.items(mailbox: SimRequest.decode(smtp), folder: folder)
                let encoded = (try? JSONSerialization.jsonObject(with: JSONEncoder().encode(items))) ?? []
                return json(["mailbox": SimRequest.decode(smtp), "folder": folder, "items": encoded])
            case (.GET, ["ledger"]):
                guard let smtp = request.query["mailbox"] else { throw SimError(.invalidArgument, "mailbox required") }
                // ?since=SEQ returns only later changes, so pollers need not re-read the whole ledger.
                let since = UInt64(request.query["since"] ?? "") ?? 0
                let entries = try world.ledger(mailbox: smtp).filter { $0.sequence > since }.map(Self.ledgerJSON)
                return json(["mailbox": smtp, "entries": entries, "dropped": try world.ledgerDropped(mailbox: smtp)])
            case (.GET, ["stats"]):
                var stats = (try? JSONSerialization.jsonObject(with: JSONEncoder().encode(world.statsSnapshot()))) as? [String: Any] ?? [:]
                stats["traffic_rate"] = traffic.rate
                stats["traffic_actions"] = traffic.actions
                return json(stats)
            case (.POST, ["faults"]):
                let id = try world.injectFault(try SimFault(json: body))
                return json(["id": id])
            case (.GET, ["faults"]):
                return json(faultsJSON())
            case (.DELETE, ["faults"]):
                let id = request.query["id"].flatMap { Int($0) }
                world.clearFaults(id: id)
                return json(["ok": true])
            case (.POST, ["faults", "release"]):
                return json(["released": world.releaseHeld(faultId: body["id"] as? Int)])
            case (.POST, ["calendar"]):
                let id = try world.createAppointment(
                    mailbox: try string(body, "mailbox"), subject: body["subject"] as? String ?? "Appointment",
                    start: Date(timeIntervalSince1970: try number(body, "start")), minutes: body["minutes"] as? Int ?? 30,
                    every: (body["every_seconds"] as? Double) ?? (body["every_seconds"] as? Int).map(Double.init),
                    count: UInt32(clamping: body["count"] as? Int ?? 1), meeting: body["meeting"] as? Bool ?? false)
                return json(["item_id": id])
            case (.POST, ["calendar", "rename"]):
                try world.renameAppointment(itemId: try string(body, "item_id"), to: try string(body, "subject"))
                return json(["ok": true])
            case (.POST, ["calendar", "move"]):
                try world.moveOccurrence(itemId: try string(body, "item_id"), byMinutes: body["minutes"] as? Int ?? 30)
                return json(["ok": true])
            case (.POST, ["calendar", "delete"]):
                try world.deleteAppointment(itemId: try string(body, "item_id"))
                return json(["ok": true])
            case (.GET, ["calendar"]):
                // The ground truth of a calendar view: ?mailbox=&start=&end= (epoch seconds).
                guard let smtp = request.query["mailbox"], let start = request.query["start"].flatMap(Double.init),
                      let end = request.query["end"].flatMap(Double.init)
                else { throw SimError(.invalidArgument, "mailbox, start and end required") }
                let entries = try world.calendarView(mailbox: smtp, from: Date(timeIntervalSince1970: start),
                                                     to: Date(timeIntervalSince1970: end))
                let encoder = JSONEncoder()
                encoder.dateEncodingStrategy = .secondsSince1970
                let encoded = (try? JSONSerialization.jsonObject(with: encoder.encode(entries))) ?? []
                return json(["mailbox": smtp, "entries": encoded])
            case (.POST, ["read"]):
                try world.setRead(itemId: try string(body, "item_id"), body["is_read"] as? Bool ?? true)
                return json(["ok": true])
            case (.POST, ["update"]):
                try world.updateItem(itemId: try string(body, "item_id"))
                return json(["ok": true])
            case (.POST, ["move"]):
                let id = try world.moveItem(itemId: try string(body, "item_id"), toFolder: try string(body, "folder"))
                return json(["item_id": id])
            case (.POST, ["delete"]):
                try world.deleteItem(itemId: try string(body, "item_id"), hard: body["hard"] as? Bool ?? false)
                return json(["ok": true])
            case (.POST, ["folders"]):
                let id = try world.createFolder(mailbox: try string(body, "mailbox"), name: try string(body, "name"))
                return json(["folder_id": id])
            case (.POST, ["folders", "delete"]):
                try world.deleteFolder(mailbox: try string(body, "mailbox"), folder: try string(body, "folder"))
                return json(["ok": true])
            default:
                return json(["error": "not_found", "message": "no control endpoint \(request.method) \(request.path)"], status: .notFound)
            }
        } catch {
            let status: HTTPResponseStatusAlias = error.code == .invalidArgument ? .badRequest : .notFound
            return json(["error": error.code.rawValue, "message": error.message], status: status)
        }
    }

    private func faultsJSON() -> [String: Any] {
        let faults = world.activeFaults().sorted { $0.key < $1.key }.map { id, fault in
            var object = fault.json
            object["id"] = id
            return object
        }
        let held = world.heldRequests().map { held -> [String: Any] in
            ["id": held.id, "fault_id": held.faultId, "operation": held.operation, "mailbox": held.mailbox,
             "identity": held.identity, "page": held.page]
        }
        return ["faults": faults, "held": held]
    }

    func number(_ body: [String: Any], _ key: String) throws(SimError) -> Double {
        if let value = body[key] as? Double { return value }
        if let value = body[key] as? Int { return Double(value) }
        throw SimError(.invalidArgument, "\(key) required (a number)")
    }

    func string(_ body: [String: Any], _ key: String) throws(SimError) -> String {
        guard let value = body[key] as? String else { throw SimError(.invalidArgument, "\(key) required") }
        return value
    }

    private func json(_ object: [String: Any], status: HTTPResponseStatusAlias = .ok) -> SimResponse {
        .json(status, Array((try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data()))
    }

    static func ledgerJSON(_ entry: LedgerEntry) -> [String: Any] {
        var object: [String: Any] = [
            "sequence": entry.sequence, "time": ISOTime.millis(entry.time),
            "timestamp": entry.time.timeIntervalSince1970, "kind": entry.kind, "folder": entry.folder,
        ]
        if let id = entry.itemId { object["item_id"] = id }
        if let id = entry.oldItemId { object["old_item_id"] = id }
        if let key = entry.changeKey { object["change_key"] = key }
        if let read = entry.isRead { object["is_read"] = read }
        return object
    }
}

extension ISOTime {
    /// With milliseconds, for latency measurements from the ledger.
    static func millis(_ date: Date) -> String {
        let seconds = string(date)
        let ms = Int((date.timeIntervalSince1970 * 1000).rounded(.down)) % 1000
        let padded = String(repeating: "0", count: 3 - String(ms).count) + String(ms)
        return String(seconds.dropLast()) + "." + padded + "Z"
    }
}
