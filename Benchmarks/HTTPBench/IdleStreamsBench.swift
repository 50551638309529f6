import Foundation
import HTTP
import Synchronization

/// (a) Holds `connections` idle streaming responses (a heartbeat every few seconds on each) and
/// reports the client's CPU% and RSS per connection over `seconds`.
enum IdleStreamsBench {
    static func run(url: String, connections: Int, seconds: Double, mechanism: HTTPClient.Configuration.LoopMechanism) async throws {
        var configuration = HTTPClient.Configuration()
        configuration.loopMechanism = mechanism
        let client = HTTPClient(configuration: configuration)
        let before = ProcessStats.read()
        let heartbeats = SharedCounter()
        let request = HTTPRequest(method: "GET", url: url, timeouts: HTTPTimeouts(connect: .seconds(30), idleRead: .seconds(60)))

        // Open in waves so the server's accept backlog is never the bottleneck.
        var streams: [HTTPStream] = []
        let openStart = monotonicSeconds()
        for wave in stride(from: 0, to: connections, by: 250) {
            let n = min(250, connections - wave)
            streams += try await withThrowingTaskGroup(of: HTTPStream.self) { group in
                for _ in 0..<n { group.addTask { try await client.stream(request) } }
                return try await group.reduce(into: []) { $0.append($1) }
            }
        }
        let openSeconds = monotonicSeconds() - openStart
        let opened = streams
        let consumers = Task {
            await withTaskGroup(of: Void.self) { group in
                for stream in opened {
                    group.addTask {
                        do {
                            for try await _ in stream { _ = heartbeats.add() }
                        } catch {}
                    }
                }
            }
        }
        // Let the first heartbeats settle before measuring.
        try await Task.sleep(for: .seconds(1))
        let start = ProcessStats.read()
        let hb0 = heartbeats.current
        let t0 = monotonicSeconds()
        try await Task.sleep(for: .seconds(seconds))
        let end = ProcessStats.read()
        let elapsed = monotonicSeconds() - t0
        let hb = heartbeats.current - hb0
        let cpuPercent = (end.cpuMicros - start.cpuMicros) / 1e6 / elapsed * 100
        let perConnKiB = Double(end.rssKiB - before.rssKiB) / Double(connections)
        print("idle-streams loop=\(mechanism) connections=\(connections) opened_in_s=\(fmt(openSeconds)) window_s=\(fmt(elapsed))")
        print("idle-streams heartbeats_in_window=\(hb) (\(fmt(Double(hb) / elapsed))/s)")
        print("idle-streams client_cpu_percent=\(fmt(cpuPercent)) rss_total_MiB=\(fmt(Double(end.rssKiB) / 1024)) rss_baseline_MiB=\(fmt(Double(before.rssKiB) / 1024)) rss_per_connection_KiB=\(fmt(perConnKiB))")
        for s in streams { s.cancel() }
        consumers.cancel()
        _ = await consumers.value
        await client.shutdown()
    }
}

func fmt(_ x: Double) -> String { String(format: "%.2f", x) }
