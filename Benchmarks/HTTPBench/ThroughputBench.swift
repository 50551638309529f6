import Foundation
import HTTP
import Synchronization

/// (b) Short request/response throughput with `concurrency` calls in flight.
enum ThroughputBench {
    static func run(url: String, requests: Int, concurrency: Int, mechanism: HTTPClient.Configuration.LoopMechanism) async throws {
        var configuration = HTTPClient.Configuration()
        configuration.loopMechanism = mechanism
        let client = HTTPClient(configuration: configuration)
        let identity = HTTPIdentity(tenant: "bench")
        let request = HTTPRequest(method: "GET", url: url, identity: identity)
        // Warm-up: open the keep-alive connections.
        try await batch(client, request, count: concurrency * 20, concurrency: concurrency)
        let s0 = ProcessStats.read()
        let t0 = monotonicSeconds()
        try await batch(client, request, count: requests, concurrency: concurrency)
        let elapsed = monotonicSeconds() - t0
        let s1 = ProcessStats.read()
        let cpu = s1.cpuMicros - s0.cpuMicros
        print("throughput client=ewsfleet-\(mechanism) requests=\(requests) concurrency=\(concurrency) seconds=\(fmt(elapsed)) req_per_s=\(fmt(Double(requests) / elapsed)) cpu_us_per_req=\(fmt(cpu / Double(requests))) cpu_percent=\(fmt(cpu / 1e6 / elapsed * 100))")
        await client.shutdown()
    }

    private static func batch(_ client: HTTPClient, _ request: HTTPRequest, count: Int, concurrency: Int) async throws {
        let next = SharedCounter()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<concurrency {
                group.addTask {
                    while next.add() <= count {
                        let response = try await client.send(request)
                        guard response.status == 200, response.body.count == 256 else {
                            throw HTTPError(code: .transport, message: "unexpected response \(response.status)")
                        }
                    }
                }
            }
            try await group.waitForAll()
        }
    }
}
