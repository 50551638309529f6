import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import Simulator

// ews-sim-bench: world size/RSS, Subscribe/SyncFolderItems/GetItem requests per second on loopback,
// and CPU/RSS while 50 streaming connections × 200 subscriptions receive generated traffic.
// Usage: ews-sim-bench [tenants] [mailboxes-per-tenant] [traffic-rate] [traffic-seconds]
// The load client runs in the same process, so CPU figures include the client (conservative).

let args = CommandLine.arguments
let tenants = args.count > 1 ? Int(args[1])! : 10
let mailboxes = args.count > 2 ? Int(args[2])! : 1000
let rate = args.count > 3 ? Double(args[3])! : 5000
let trafficSeconds = args.count > 4 ? Int(args[4])! : 20
let connectionsForRequests = 8

func rssMiB() -> Double {
    let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
    let line = status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") } ?? ""
    let kb = Double(line.split(separator: " ").dropFirst().first ?? "0") ?? 0
    return kb / 1024
}

func cpuSeconds() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6
        + Double(usage.ru_stime.tv_sec) + Double(usage.ru_stime.tv_usec) / 1e6
}

func envelope(_ body: String, impersonate: String) -> String {
    "<?xml version=\"1.0\" encoding=\"utf-8\"?><soap:Envelope xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\" "
        + "xmlns:m=\"http://schemas.microsoft.com/exchange/services/2006/messages\" xmlns:t=\"http://schemas.microsoft.com/exchange/services/2006/types\">"
        + "<soap:Header><t:RequestServerVersion Version=\"Exchange2013_SP1\"/><t:ExchangeImpersonation><t:ConnectingSID><t:SmtpAddress>"
        + impersonate + "</t:SmtpAddress></t:ConnectingSID></t:ExchangeImpersonation></soap:Header><soap:Body>" + body + "</soap:Body></soap:Envelope>"
}

func firstMatch(_ text: String, _ open: String, _ close: String) -> String? {
    guard let start = text.range(of: open), let end = text.range(of: close, range: start.upperBound..<text.endIndex) else { return nil }
    return String(text[start.upperBound..<end.lowerBound])
}

var configuration = SimConfiguration()
configuration.tenants = tenants
configuration.mailboxesPerTenant = mailboxes
configuration.itemsPerMailbox = 20
configuration.serversPerTenant = max(1, mailboxes / 200)
configuration.randomChunking = true
let started = Date()
let server = try SimulatorServer(configuration: configuration)
let port = try await server.start()
let infos = server.world.tenantInfos(baseURL: server.baseURL)
print(String(format: "world: %d mailboxes, %d items built in %.2f s; RSS %.0f MiB",
             tenants * mailboxes, tenants * mailboxes * 20, Date().timeIntervalSince(started), rssMiB()))

let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
struct Target: Sendable { var tenant: Int; var mailbox: String; var path: String; var auth: String }
let targets: [Target] = infos.enumerated().flatMap { index, info in
    info.mailboxes.map {
        Target(tenant: index, mailbox: $0, path: "/t/\(info.name)/EWS/Exchange.asmx",
               auth: "Basic " + Data("\(info.username):\(info.password)".utf8).base64EncodedString())
    }
}

/// Runs `connectionsForRequests` closed-loop connections over `count` requests (or until `until`).
func runLoad(name: String, count: Int?, until: Date?, _ make: @escaping @Sendable (Int) -> ClosedLoopConnection.Request,
             onBody: @escaping @Sendable (Int, String) -> Void = { _, _ in }) async throws {
    let begin = Date()
    let cpuBegin = cpuSeconds()
    var futures: [EventLoopFuture<(ok: Int, failed: Int)>] = []
    for connection in 0..<connectionsForRequests {
        let promise = group.next().makePromise(of: (ok: Int, failed: Int).self)
        futures.append(promise.futureResult)
        let n = connectionsForRequests
        _ = try await LoadClient.connect(port: port, group: group) {
            ClosedLoopConnection(makeRequest: { sent in
                let index = sent * n + connection
                if let count, index >= count { return nil }
                if let until, Date() >= until { return nil }
                return make(index)
            }, onBody: { sent, body in onBody(sent * n + connection, body) }, done: promise)
        }
    }
    var ok = 0, failed = 0
    for future in futures {
        let result = try await future.get()
        ok += result.ok
        failed += result.failed
    }
    let seconds = Date().timeIntervalSince(begin)
    print(String(format: "%@: %d ok, %d failed in %.2f s = %.0f req/s (process CPU %.2f s)",
                 name, ok, failed, seconds, Double(ok) / seconds, cpuSeconds() - cpuBegin))
}

// Subscribe every mailbox (inbox), via HTTP.
let ids = NIOLockedValueBox([String](repeating: "", count: targets.count))
try await runLoad(name: "Subscribe", count: targets.count, until: nil, { index in
    let target = targets[index]
    let body = envelope("<m:Subscribe><m:StreamingSubscriptionRequest><t:FolderIds><t:DistinguishedFolderId Id=\"inbox\"/></t:FolderIds>"
                        + "<t:EventTypes><t:EventType>NewMailEvent</t:EventType><t:EventType>CreatedEvent</t:EventType>"
                        + "<t:EventType>ModifiedEvent</t:EventType><t:EventType>MovedEvent</t:EventType><t:EventType>DeletedEvent</t:EventType>"
                        + "</t:EventTypes></m:StreamingSubscriptionRequest></m:Subscribe>", impersonate: target.mailbox)
    return (target.path, ["Authorization": target.auth], body)
}, onBody: { index, body in
    if let id = firstMatch(body, "<m:SubscriptionId>", "</m:SubscriptionId>") { ids.withLockedValue { $0[index] = id } }
})

try await runLoad(name: "SyncFolderItems (IdOnly, initial, ~14 items)", count: nil, until: Date().addingTimeInterval(5)) { index in
    let target = targets[index % targets.count]
    let body = envelope("<m:SyncFolderItems><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape></m:ItemShape><m:SyncFolderId>"
                        + "<t:DistinguishedFolderId Id=\"inbox\"/></m:SyncFolderId><m:MaxChangesReturned>512</m:MaxChangesReturned></m:SyncFolderItems>",
                        impersonate: target.mailbox)
    return (target.path, ["Authorization": target.auth], body)
}

let itemIds: [[String]] = try targets.prefix(200).map { target in
    Array(try server.world.items(mailbox: target.mailbox).prefix(10).map(\.itemId))
}
try await runLoad(name: "GetItem (10 ids, Default shape)", count: nil, until: Date().addingTimeInterval(5)) { index in
    let target = targets[index % 200]
    let body = envelope("<m:GetItem><m:ItemShape><t:BaseShape>Default</t:BaseShape></m:ItemShape><m:ItemIds>"
                        + itemIds[index % 200].map { "<t:ItemId Id=\"\($0)\"/>" }.joined() + "</m:ItemIds></m:GetItem>",
                        impersonate: target.mailbox)
    return (target.path, ["Authorization": target.auth], body)
}

// 50 streams × 200 subscriptions (grouped by mailbox server, anchored on the group's first mailbox).
let subscriptionIds = ids.withLockedValue { $0 }
var groups: [String: [Int]] = [:]
for (index, target) in targets.enumerated() {
    let mailboxIndex = Int(target.mailbox.dropFirst(4).split(separator: "@")[0])! - 1
    groups["\(target.tenant)-\(mailboxIndex % configuration.serversPerTenant)", default: []].append(index)
}
let events = NIOLockedValueBox(0)
var streams: [any Channel] = []
for (_, members) in groups.sorted(by: { $0.key < $1.key }) {
    for chunk in stride(from: 0, to: members.count, by: 200).map({ Array(members[$0..<min($0 + 200, members.count)]) }) {
        let anchor = targets[chunk[0]]
        let body = envelope("<m:GetStreamingEvents><m:SubscriptionIds>" + chunk.map { "<t:SubscriptionId>\(subscriptionIds[$0])</t:SubscriptionId>" }.joined()
                            + "</m:SubscriptionIds><m:ConnectionTimeout>30</m:ConnectionTimeout></m:GetStreamingEvents>", impersonate: anchor.mailbox)
        let channel = try await LoadClient.connect(port: port, group: group) { StreamCounter(events: events) }
        var headers: HTTPHeaders = ["Authorization": anchor.auth, "X-AnchorMailbox": anchor.mailbox, "X-PreferServerAffinity": "true",
                                    "Host": "127.0.0.1", "Content-Type": "text/xml; charset=utf-8", "Content-Length": String(body.utf8.count)]
        headers.replaceOrAdd(name: "Connection", value: "keep-alive")
        channel.write(HTTPClientRequestPart.head(HTTPRequestHead(version: .http1_1, method: .POST, uri: anchor.path, headers: headers)), promise: nil)
        channel.write(HTTPClientRequestPart.body(.byteBuffer(ByteBuffer(string: body))), promise: nil)
        try await channel.writeAndFlush(HTTPClientRequestPart.end(nil)).get()
        streams.append(channel)
    }
}
print("streams: \(streams.count) connections holding \(subscriptionIds.filter { !$0.isEmpty }.count) subscriptions; RSS \(Int(rssMiB())) MiB")

let cpuBefore = cpuSeconds()
let trafficStart = Date()
server.traffic.set(rate: rate)
try await Task.sleep(for: .seconds(trafficSeconds))
server.traffic.stop()
let wall = Date().timeIntervalSince(trafficStart)
let cpu = cpuSeconds() - cpuBefore
try await Task.sleep(for: .seconds(1))
print(String(format: "traffic: %d actions in %.1f s (%.0f/s target %.0f/s); %d events streamed to clients; process CPU %.2f s = %.0f%% of one core; RSS %.0f MiB",
             server.traffic.actions, wall, Double(server.traffic.actions) / wall, rate, events.withLockedValue { $0 }, cpu, 100 * cpu / wall, rssMiB()))
for channel in streams { channel.close(promise: nil) }
try await server.shutdown()
try await group.shutdownGracefully()
