import Foundation
import MetricsTestKit
import Testing
@testable import HTTP

@Suite struct MetricsTests {
    @Test func requestsBytesErrorsAndLatencyAreCounted() async throws {
        let server = try await TestServer.start { request, writer in
            if request.head.uri == "/stream" {
                writer.head()
                writer.chunk("12345")
                writer.end()
            } else if request.head.uri == "/hang" {
                writer.head()
            } else {
                writer.respond(body: "0123456789")
            }
        }
        let metrics = TestMetrics()
        try await makeClient { $0.metricsFactory = metrics }.use { client in
            _ = try await client.send(get(server.baseURL + "/a"))
            _ = try await client.send(get(server.baseURL + "/b"))
            _ = try await client.stream(get(server.baseURL + "/stream")).collect()
            let error = await httpError { _ = try await client.send(get(server.baseURL + "/hang", timeouts: HTTPTimeouts(total: .milliseconds(50)))) }
            #expect(error?.code == .timeout, "\(String(describing: error))")
        }
        #expect(try metrics.expectCounter("ewsf_http_requests_total", [("kind", "normal")]).totalValue == 3)
        #expect(try metrics.expectCounter("ewsf_http_requests_total", [("kind", "stream")]).totalValue == 1)
        #expect(try metrics.expectCounter("ewsf_http_received_bytes_total").totalValue == 25)
        #expect(try metrics.expectCounter("ewsf_http_errors_total", [("code", "timeout")]).totalValue == 1)
        #expect(try metrics.expectTimer("ewsf_http_request_duration", [("kind", "normal")]).values.count == 3)
        #expect(try metrics.expectTimer("ewsf_http_request_duration", [("kind", "stream_head")]).values.count == 1)
        try await server.stop()
    }
}
