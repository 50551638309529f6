import Foundation
import Metrics
import Store
import Synchronization

/// Health and database-derived gauges of a running fleet instance.
///
/// `/healthz` is healthy only while the supervisor runs (`markRunning`) and the database answers;
/// its body is the number of mailboxes in each state (from `mailbox_status`; no row = `idle`).
/// The same query refreshes the `ewsf_mailboxes{state}` gauges, so a scrape never waits on more
/// than one cheap query.
final class FleetHealth: Sendable {
    static let states = ["idle", "subscribing", "streaming", "polling", "scheduled", "syncing", "backing_off", "failed", "paused", "stale"]

    private let pool: PostgresPool
    private let running = Atomic<Bool>(false)
    private let gauges: [String: Gauge]
    private let healthy: Gauge
    private let changesLastMinute: Gauge

    init(pool: PostgresPool, factory: any MetricsFactory = MetricsSystem.factory) {
        self.pool = pool
        gauges = Dictionary(uniqueKeysWithValues: Self.states.map {
            ($0, Gauge(label: "ewsf_mailboxes", dimensions: [("state", $0)], factory: factory))
        })
        healthy = Gauge(label: "ewsf_healthy", factory: factory)
        changesLastMinute = Gauge(label: "ewsf_changes_last_minute", factory: factory)
    }

    func markRunning(_ value: Bool) { running.store(value, ordering: .relaxed) }

    struct Report: Sendable {
        var healthy: Bool
        var reason: String?
        var mailboxes: [String: Int]

        var json: String {
            var object: [String: Any] = ["status": healthy ? "ok" : "unavailable", "mailboxes": mailboxes]
            if let reason { object["reason"] = reason }
            let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data()
            return String(decoding: data, as: UTF8.self)
        }
    }

    func check() async -> Report {
        var counts = Dictionary(uniqueKeysWithValues: Self.states.map { ($0, 0) })
        guard running.load(ordering: .relaxed) else {
            healthy.record(0)
            return Report(healthy: false, reason: "supervisor not running", mailboxes: counts)
        }
        do {
            let rows = try await pool.withConnection { conn in
                try await conn.query("""
                    SELECT CASE WHEN NOT m.enabled THEN 'paused' ELSE coalesce(s.state, 'idle') END AS state,
                           count(*)::bigint AS n,
                           (SELECT count(*) FROM changes WHERE committed_at > now() - interval '1 minute')::bigint AS recent
                      FROM mailboxes m LEFT JOIN mailbox_status_now s ON s.mailbox_id = m.id
                     GROUP BY 1
                    """, name: "healthz").rows
            }
            var recent = 0
            for row in rows {
                counts[try row.decode("state", as: String.self)] = Int(try row.decode("n", as: Int64.self))
                recent = Int(try row.decode("recent", as: Int64.self))
            }
            for (state, gauge) in gauges { gauge.record(counts[state] ?? 0) }
            changesLastMinute.record(recent)
            healthy.record(1)
            return Report(healthy: true, reason: nil, mailboxes: counts)
        } catch {
            healthy.record(0)
            return Report(healthy: false, reason: "database unreachable", mailboxes: counts)
        }
    }
}
