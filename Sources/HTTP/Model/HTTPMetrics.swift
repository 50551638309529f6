import Metrics

/// The transport's swift-metrics instruments. Labels stay few: call kind and error code only.
struct HTTPMetrics: Sendable {
    let factory: any MetricsFactory
    private let normalRequests: Counter
    private let streamRequests: Counter
    private let bytesReceived: Counter
    private let normalLatency: Timer
    private let streamHeadLatency: Timer

    init(factory: any MetricsFactory) {
        self.factory = factory
        normalRequests = Counter(label: "ewsf_http_requests_total", dimensions: [("kind", "normal")], factory: factory)
        streamRequests = Counter(label: "ewsf_http_requests_total", dimensions: [("kind", "stream")], factory: factory)
        bytesReceived = Counter(label: "ewsf_http_received_bytes_total", factory: factory)
        normalLatency = Timer(label: "ewsf_http_request_duration", dimensions: [("kind", "normal")], factory: factory)
        streamHeadLatency = Timer(label: "ewsf_http_request_duration", dimensions: [("kind", "stream_head")], factory: factory)
    }

    func recordRequest(_ kind: Transfer.Kind) {
        (kind == .normal ? normalRequests : streamRequests).increment()
    }

    func recordLatency(_ kind: Transfer.Kind, nanoseconds: UInt64) {
        (kind == .normal ? normalLatency : streamHeadLatency).recordNanoseconds(Int64(clamping: nanoseconds))
    }

    func recordBytes(_ count: Int) {
        if count > 0 { bytesReceived.increment(by: count) }
    }

    func recordError(_ code: HTTPError.Code) {
        Counter(label: "ewsf_http_errors_total", dimensions: [("code", code.name)], factory: factory).increment()
    }
}
