import Prometheus

/// The route of `MetricsServer` for a fleet instance: `/metrics` and `/healthz`.
enum MetricsEndpoint {
    static func route(registry: PrometheusCollectorRegistry, health: FleetHealth) -> MetricsServer.Route {
        { method, path in
            guard method == .GET || method == .HEAD else { return .text(.methodNotAllowed, "GET only\n") }
            switch path {
            case "/metrics":
                // Refresh the database-derived gauges so each scrape sees current counts.
                _ = await health.check()
                return MetricsServer.Response(status: .ok, contentType: "text/plain; version=0.0.4; charset=utf-8",
                                              body: registry.emitToBuffer())
            case "/healthz":
                let report = await health.check()
                return MetricsServer.Response(status: report.healthy ? .ok : .serviceUnavailable,
                                              contentType: "application/json", body: Array((report.json + "\n").utf8))
            default:
                return .text(.notFound, "not found; try /metrics or /healthz\n")
            }
        }
    }
}
