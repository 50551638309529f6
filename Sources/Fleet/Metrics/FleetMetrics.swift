import Metrics
import Support

/// Fleet-level counters, through whatever swift-metrics backend the process bootstrapped
/// (`ewsfleet run`: Prometheus). Names are listed in README "Metrics". Handles are looked up per
/// event: the backend caches them by label, and the events are per sync page or per connection,
/// far too rare for the lookup to matter.
public enum FleetMetrics {
    /// One committed sync page (mirror, outbox rows and SyncState in one transaction).
    static func syncPageCommitted(changes: Int) {
        Counter(label: "ewsf_sync_pages_total").increment()
        if changes > 0 { Counter(label: "ewsf_changes_committed_total").increment(by: Int64(changes)) }
    }

    /// A streaming connection opened (the first one of a group, or a reconnect).
    /// Items a DeletedEvent took out of the mirror before any sync (`MailboxMachine+Departures`).
    static func deletedOnNotification(_ count: Int) {
        Counter(label: "ewsf_deletes_on_notification_total").increment(by: Int64(count))
    }

    static func streamOpened() {
        Counter(label: "ewsf_stream_connections_total").increment()
    }

    /// A streaming connection failed and will be reopened after a back-off.
    static func streamFailed() {
        Counter(label: "ewsf_stream_failures_total").increment()
    }
}

extension FleetMetrics {
    /// Why a stream group opens its connection again (`membership`, `server_closed`, `short_lived`,
    /// `ended`, `open_failed`): a storm shows up here first.
    static func streamReopen(reason: String) {
        Counter(label: "ewsf_stream_reopens_total", dimensions: [("reason", reason)]).increment()
    }

    /// Why a mailbox subscribes again (`refused`, `suspect`, `folder_missing`, ...).
    static func resubscribe(reason: String) {
        Counter(label: "ewsf_resubscribes_total", dimensions: [("reason", reason)]).increment()
    }
}

extension FleetMetrics {
    /// A mailbox status row the database refused for a reason other than being unreachable (it is
    /// logged and dropped so the rest of the batch is written).
    static func statusRowDropped() {
        Counter(label: "ewsf_status_rows_dropped_total").increment()
    }
}

extension FleetMetrics {
    public static let adviceLagLabel = "ewsf_backoff_advice_lag"
    /// Histogram buckets for `adviceLagLabel`: the lag is expected well under a millisecond, and the
    /// default duration buckets start at 5 ms.
    public static let adviceLagBuckets: [Duration] = [
        .microseconds(50), .microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1),
        .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50),
        .milliseconds(100), .milliseconds(250), .seconds(1),
    ]

    /// An advised back-off is in force: `lag` from the advising response's arrival.
    static func adviceHonoured(lag: Duration) {
        Timer(label: adviceLagLabel).recordNanoseconds(Int64(lag.wholeNanoseconds))
    }
}

extension FleetMetrics {
    /// Writes the database refused because the tenant's lease had moved to another holder (`write`:
    /// `checkpoint`, `hierarchy`, `folder_drop`, `folder_ids`, `subscription`, `sync_state_reset`,
    /// `status`, `liveness`, `tenant_state`, `grouping`, `tenant_reload`). Each one also stops the tenant here.
    static func leaseFencedWrites(_ write: String, count: Int = 1) {
        guard count > 0 else { return }
        Counter(label: "ewsf_lease_fenced_writes_total", dimensions: [("write", write)]).increment(by: Int64(count))
    }

    /// A running tenant restarted with a changed row (`tenant update`): `ok`, or `failed` when its
    /// next runtime could not be built yet (retried, paced).
    static func tenantReload(outcome: String) {
        Counter(label: "ewsf_tenant_reloads_total", dimensions: [("outcome", outcome)]).increment()
    }

    /// A tenant this instance stopped because its lease was lost (`cause`: `renewal`, the renewal
    /// found it taken over; `fenced_write`, a write was refused first).
    static func leaseLost(cause: String) {
        Counter(label: "ewsf_leases_lost_total", dimensions: [("cause", cause)]).increment()
    }
}
