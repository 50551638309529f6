import Logging
import Store
import Synchronization

/// The supervisor's bookkeeping: running tenant runtimes, start-failure backoff, blocked-tenant
/// retry times, and the wake-up signal that control notifications and shutdown send.
final class SupervisorState<C: Clock<Duration>>: Sendable where C.Instant: Sendable {
    private struct State {
        var runtimes: [Int64: TenantRuntime<C>] = [:]
        /// Tenants whose runtime is finishing to restart with this newer row (see `requestReload`).
        var reloads: [Int64: Tenant] = [:]
        var failures: [Int64: (pacer: RetryPacer, retryAt: C.Instant)] = [:]
        var blockedRetryAt: [Int64: C.Instant] = [:]
        /// HTTP 403s reported by runtimes, by lease, not yet written (see `Supervisor.markBlocked`).
        var blockedReports: [LeaseToken: BlockedReport] = [:]
        var waiter: CheckedContinuation<Void, Never>?
        var pendingWake = false
        var shuttingDown = false
        var sharedInstanceWarned = false
        var passes = 0
    }

    private let state = Mutex(State())

    var isShuttingDown: Bool { state.withLock { $0.shuttingDown } }

    /// Reconcile passes completed (tests wait on it: explicit readiness instead of sleeping).
    var reconcilePasses: Int { state.withLock { $0.passes } }
    func passCompleted() { state.withLock { $0.passes += 1 } }

    func add(_ runtime: TenantRuntime<C>) { state.withLock { $0.runtimes[runtime.tenant.id] = runtime } }
    func runtime(_ tenantID: Int64) -> TenantRuntime<C>? { state.withLock { $0.runtimes[tenantID] } }
    var runtimes: [TenantRuntime<C>] { state.withLock { Array($0.runtimes.values) } }

    /// Removes and returns the tenant's runtime if it runs under exactly `lease`. A renewal and a
    /// refused write (or several writes) can all find the same lease lost: only the first stops the
    /// runtime. A report about an older lease of a tenant already running again here under a newer
    /// one is stale and stops nothing.
    func removeRuntime(holding lease: LeaseToken) -> TenantRuntime<C>? {
        state.withLock { s in
            guard let runtime = s.runtimes[lease.tenantID], runtime.lease == lease else { return nil }
            s.runtimes[lease.tenantID] = nil
            s.reloads[lease.tenantID] = nil
            return runtime
        }
    }

    // MARK: reloads (the one path by which a changed tenant row reaches its running tenant)

    /// Records `row` as what `runtime` restarts with. True when this starts the reload (the caller
    /// finishes the runtime); while one is under way it only takes the newer row, so an operator's
    /// second update (or an undo) is what the next runtime gets. False, recording nothing, when
    /// `runtime` is no longer the running one.
    func requestReload(_ runtime: TenantRuntime<C>, to row: Tenant) -> Bool {
        state.withLock { s in
            guard s.runtimes[row.id] === runtime, !s.shuttingDown else { return false }
            defer { s.reloads[row.id] = row }
            return s.reloads[row.id] == nil
        }
    }

    /// Whether a reload of `runtime` is under way.
    func isReloading(_ runtime: TenantRuntime<C>) -> Bool {
        state.withLock { s in s.runtimes[runtime.tenant.id] === runtime && s.reloads[runtime.tenant.id] != nil }
    }

    /// The row `runtime` restarts with, once it has stopped (the newest one asked for); nil when it
    /// stopped for good (lease lost, tenant stopped or removed, shutdown: `removeRuntime` dropped
    /// the reload with it).
    func pendingReload(of runtime: TenantRuntime<C>) -> Tenant? {
        state.withLock { s in
            let id = runtime.tenant.id
            guard s.runtimes[id] === runtime, !s.shuttingDown else { return nil }
            return s.reloads[id]
        }
    }

    /// Puts `next` in the place of `old` and ends the reload. False, changing nothing, when `old`
    /// was stopped for good meanwhile: then `next` must not run.
    func replace(_ old: TenantRuntime<C>, with next: TenantRuntime<C>) -> Bool {
        state.withLock { s in
            let id = old.tenant.id
            guard s.runtimes[id] === old, !s.shuttingDown else { return false }
            s.runtimes[id] = next
            s.reloads[id] = nil
            return true
        }
    }

    /// The tenant's lease was found lost (`cause`: `renewal` or `fenced_write`): stops its runtime
    /// at once, without releasing anything (the lease and the tenant's rows are the new holder's),
    /// counted and logged at notice once. False when `lease` is not the running one (already
    /// stopped, or a stale report).
    @discardableResult
    func leaseLost(_ lease: LeaseToken, cause: String, logger: Logger) -> Bool {
        guard let runtime = removeRuntime(holding: lease) else { return false }
        FleetMetrics.leaseLost(cause: cause)
        logger.notice("stopping tenant: its lease moved to another holder", metadata: [
            "tenant": "\(runtime.tenant.name)", "epoch": "\(lease.epoch)", "cause": "\(cause)",
        ])
        runtime.finish()
        return true
    }

    /// Whether a tenant that failed to start may be tried again now.
    func retryDue(_ tenantID: Int64, now: C.Instant) -> Bool {
        state.withLock { s in s.failures[tenantID].map { now >= $0.retryAt } ?? true }
    }

    /// A tenant failed to start: when it may be tried again, paced like every other retry.
    func recordFailure(_ tenantID: Int64, now: C.Instant, policy: RetryPacer.Policy) -> Duration {
        state.withLock { s in
            var pacer = s.failures[tenantID]?.pacer ?? RetryPacer(policy, seed: UInt64(bitPattern: tenantID))
            let delay = pacer.failed().delay
            s.failures[tenantID] = (pacer, now.advanced(by: delay))
            return delay
        }
    }

    func clearFailures(_ tenantID: Int64) { state.withLock { _ = $0.failures.removeValue(forKey: tenantID) } }

    /// A blocked tenant is tried once per `interval`; the first call for it schedules the next.
    func blockedRetryDue(_ tenantID: Int64, now: C.Instant, interval: Duration) -> Bool {
        state.withLock { s in
            guard let at = s.blockedRetryAt[tenantID] else {
                s.blockedRetryAt[tenantID] = now.advanced(by: interval)
                return false
            }
            guard now >= at else { return false }
            s.blockedRetryAt[tenantID] = now.advanced(by: interval)
            return true
        }
    }

    /// True the first time only: another live run shares this instance id.
    /// EWS refused a tenant with HTTP 403. Recorded here and written by the supervisor's own loop
    /// (or its shutdown), so the write is part of its structured work and never outlives it.
    struct BlockedReport: Sendable, Equatable {
        var tenant: String
        var message: String
    }

    func reportBlocked(_ lease: LeaseToken, _ report: BlockedReport) {
        state.withLock { $0.blockedReports[lease] = report }
        wake()
    }

    /// A report whose write failed (database down, or the loop's task cancelled by a shutdown):
    /// kept for the next pass or the shutdown, without a wake-up, so a failing write is retried
    /// at the pace of the passes, never in a loop.
    func requeueBlocked(_ lease: LeaseToken, _ report: BlockedReport) {
        state.withLock { s in
            if s.blockedReports[lease] == nil { s.blockedReports[lease] = report }
        }
    }

    func takeBlockedReports() -> [(lease: LeaseToken, report: BlockedReport)] {
        state.withLock { s in
            defer { s.blockedReports = [:] }
            return s.blockedReports.map { ($0.key, $0.value) }
        }
    }

    func firstSharedInstanceWarning() -> Bool {
        state.withLock { s in
            defer { s.sharedInstanceWarned = true }
            return !s.sharedInstanceWarned
        }
    }

    func wake() {
        let waiter = state.withLock { s -> CheckedContinuation<Void, Never>? in
            defer { s.waiter = nil }
            if s.waiter == nil { s.pendingWake = true }
            return s.waiter
        }
        waiter?.resume()
    }

    func beginShutdown() {
        state.withLock { $0.shuttingDown = true }
        wake()
    }

    /// Returns after `timeout`, or earlier when woken.
    func waitForWake(timeout: Duration, clock: C) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { try? await clock.sleep(for: timeout) }
            group.addTask { await self.nextWake() }
            await group.next()
            group.cancelAll()
            self.wake()  // releases nextWake if the timeout won
        }
        state.withLock { $0.pendingWake = false }
    }

    private func nextWake() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let resumeNow = state.withLock { s -> Bool in
                if s.pendingWake {
                    s.pendingWake = false
                    return true
                }
                s.waiter = continuation
                return false
            }
            if resumeNow { continuation.resume() }
        }
    }
}
