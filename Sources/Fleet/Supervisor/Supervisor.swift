public import HTTP
public import Logging
import Support
import Foundation
public import ServiceLifecycle
public import Store

/// The fleet service: takes the lease of every active tenant it can, runs a `TenantRuntime` for
/// each, renews leases and reacts to control notifications (tenants and mailboxes added, paused or
/// removed). A tenant whose lease is lost stops at once; an expired lease of a dead instance is
/// taken over. On graceful shutdown it stops reading, lets in-flight commits finish, flushes status
/// and releases its leases.
///
/// Leases belong to this process run (`holder`), not only to the configured instance id: a second
/// process started with the same id shares no epoch with this one and waits for this one's leases
/// to expire or be released. Every write made under a lease is fenced by it; a refused write, like
/// a failed renewal, stops the tenant here at once (`SupervisorState.leaseLost`).
public final class Supervisor<C: Clock<Duration>>: Service, Sendable where C.Instant: Sendable {
    public struct Dependencies: Sendable {
        public var pool: PostgresPool
        public var http: HTTPClient
        public var keyring: SecretKeyring
        public var clock: C
        public var logger: Logger

        public init(pool: PostgresPool, http: HTTPClient, keyring: SecretKeyring, clock: C, logger: Logger) {
            self.pool = pool
            self.http = http
            self.keyring = keyring
            self.clock = clock
            self.logger = logger
        }
    }

    let deps: Dependencies
    let settings: FleetSettings
    /// This process run's identity in `tenant_leases` and `fleet_instances`.
    let holder: LeaseHolder
    let batcher: StatusBatcher
    let state: SupervisorState<C>
    /// How often a blocked (HTTP 403) tenant is tried again.
    public let blockedRetryInterval: Duration

    public init(dependencies: Dependencies, settings: FleetSettings, blockedRetryInterval: Duration = .seconds(3600)) {
        deps = dependencies
        self.blockedRetryInterval = blockedRetryInterval
        self.settings = settings
        holder = LeaseHolder.newRun(instanceID: settings.instanceID)
        let state = SupervisorState<C>()
        let logger = dependencies.logger
        batcher = StatusBatcher(pool: dependencies.pool, logger: logger, onLeaseLost: { lease in
            state.leaseLost(lease, cause: "fenced_write", logger: logger)
        })
        self.state = state
    }

    public func run() async throws {
        try await Migrator(pool: deps.pool).requireCurrent()
        try await heartbeat()
        deps.logger.info("fleet instance started", metadata: ["instance": "\(settings.instanceID)", "run": "\(holder.run)"])
        await withGracefulShutdownHandler {
            await withDiscardingTaskGroup { group in
                group.addTask { await self.batcher.run(every: self.settings.statusFlushInterval, clock: self.deps.clock) }
                group.addTask { await self.followControlNotifications() }
                // Reconcile every third of the lease TTL (renewals), and at once on a control
                // notification (tenant or mailbox added, paused, removed).
                while !state.isShuttingDown && !Task.isCancelled {
                    try? await heartbeat()
                    await markBlocked()
                    await reconcile(group: &group)
                    state.passCompleted()
                    await state.waitForWake(timeout: settings.leaseTTL / 3, clock: deps.clock)
                }
                // Stop reading: runtimes finish (in-flight commits complete or roll back whole).
                for runtime in state.runtimes { runtime.finish() }
                group.cancelAll()
            }
        } onGracefulShutdown: {
            self.state.beginShutdown()
        }
        // The last writes (status flush, mailboxes marked idle, leases released) must happen even
        // when the service was cancelled rather than shut down gracefully: a cancelled task's
        // queries would fail at once. So they run in a task of their own, which is awaited.
        await Task.detached { await self.shutdown() }.value
    }

    /// One pass: disable tenants that would send their credential over plain http without
    /// permission, renew held leases (stopping tenants whose lease is gone or that are no longer
    /// active), take free or expired leases of active tenants, and push the current mailbox list to
    /// every runtime.
    private func reconcile(group: inout DiscardingTaskGroup) async {
        let tenants: [Tenant]
        do {
            tenants = await refusingPlainHTTP(try await TenantRepository(pool: deps.pool).list())
        } catch {
            deps.logger.warning("cannot load tenants; keeping current state", metadata: ["error": "\(error)"])
            return
        }
        let leases = LeaseRepository(pool: deps.pool)
        let wanted = Dictionary(uniqueKeysWithValues: tenants.map { ($0.id, $0) })
        for running in state.runtimes {
            let tenant = wanted[running.tenant.id]
            if tenant?.state == .active {
                // A renewal the database could not answer keeps the tenant: its writes stay fenced,
                // and the next pass tries again.
                if (try? await leases.renew(running.lease, ttl: settings.leaseTTL)) == false {
                    state.leaseLost(running.lease, cause: "renewal", logger: deps.logger)
                } else if let tenant {
                    reloadIfChanged(running, to: tenant)
                }
                continue
            }
            guard state.removeRuntime(holding: running.lease) != nil else { continue }
            deps.logger.notice("stopping tenant", metadata: ["tenant": "\(running.tenant.name)",
                                                          "reason": "\(tenant?.state.rawValue ?? "removed")"])
            running.finish()
            if tenant != nil {
                // Its last status first, then its mailboxes idle and the lease free in one
                // transaction (a removed tenant's rows are gone with it).
                await batcher.flush()
                _ = try? await leases.release(running.lease)
            }
        }
        let now = deps.clock.now
        for tenant in tenants where tenant.state == .active
            || (tenant.state == .blocked && state.blockedRetryDue(tenant.id, now: now, interval: blockedRetryInterval))
        {
            if let runtime = state.runtime(tenant.id) {
                runtime.send(.tenantChanged(tenant))
                if let mailboxes = try? await MailboxRepository(pool: deps.pool).list(tenant: tenant.name) {
                    runtime.send(.reconcile(mailboxes))
                }
                continue
            }
            guard state.retryDue(tenant.id, now: now) else { continue }
            do {
                guard let lease = try await leases.acquire(tenantID: tenant.id, holder: holder, ttl: settings.leaseTTL)
                else { continue }
                let runtime = try makeRuntime(tenant, lease: lease)
                let mailboxes = try await MailboxRepository(pool: deps.pool).list(tenant: tenant.name)
                state.add(runtime)
                if tenant.state == .blocked {
                    try? await TenantRepository(pool: deps.pool).setState(name: tenant.name, .active, reason: nil, lease: lease)
                }
                deps.logger.info("running tenant", metadata: ["tenant": "\(tenant.name)", "mailboxes": "\(mailboxes.count)",
                                                           "epoch": "\(lease.epoch)"])
                group.addTask { await self.runTenant(runtime, initial: mailboxes) }
                state.clearFailures(tenant.id)
            } catch {
                let delay = state.recordFailure(tenant.id, now: now,
                                                policy: RetryPacer.Policy(initial: settings.backoffInitial, maximum: settings.backoffMax))
                deps.logger.error("cannot start tenant", metadata: ["tenant": "\(tenant.name)", "error": "\(error)", "retry_in": "\(delay)"])
            }
        }
    }

    // MARK: reload

    /// A tenant row whose settings changed (`tenant update`: secret, URL, auth, impersonation,
    /// throttling, TLS; see `TenantReload`) restarts the tenant's runtime: this one finishes (its
    /// actors stop where they are, a commit under way completes whole) and `runTenant` starts the
    /// next one, built from the new row, under the same lease.
    private func reloadIfChanged(_ running: TenantRuntime<C>, to row: Tenant) {
        let keyring = deps.keyring
        guard state.isReloading(running)
            || TenantReload(from: running.tenant, to: row, sameSecret: { keyring.sameSecret($0, $1, tenant: row.name) }) != nil
        else { return }
        guard state.requestReload(running, to: row) else { return }
        running.finish()
    }

    /// Runs a tenant's runtimes one after another under one lease: the first, then the next after
    /// each reload, until one stops for good (lease lost, tenant stopped or removed, shutdown).
    private func runTenant(_ first: TenantRuntime<C>, initial: [Mailbox]) async {
        var runtime = first
        var mailboxes = initial
        while true {
            await runtime.run(initial: mailboxes)
            guard let next = await reloaded(runtime) else { return }
            (runtime, mailboxes) = next
        }
    }

    /// The runtime that follows `old`, which has stopped, built from the newest row a reload asked
    /// for. What the old settings learnt from the server and the new ones cannot use is forgotten
    /// first (`TenantReload`), under the lease. When that or the build fails (database down, a
    /// secret no configured key opens) the tenant stays stopped, its lease held, and the reload is
    /// tried again, paced like every retry. nil when there is nothing (more) to run.
    private func reloaded(_ old: TenantRuntime<C>) async -> (TenantRuntime<C>, [Mailbox])? {
        var pacer = RetryPacer(RetryPacer.Policy(initial: settings.backoffInitial, maximum: settings.backoffMax),
                               seed: UInt64(bitPattern: old.tenant.id))
        while let row = state.pendingReload(of: old) {
            let keyring = deps.keyring
            let change = TenantReload(from: old.tenant, to: row, sameSecret: { keyring.sameSecret($0, $1, tenant: row.name) })
            do {
                if let change, change.forgetsSubscriptions {
                    try await SubscriptionRepository(pool: deps.pool).forgetServerState(
                        tenantID: row.id, syncStates: change.forgetsSyncStates, lease: old.lease)
                }
                let mailboxes = try await MailboxRepository(pool: deps.pool).list(tenant: row.name)
                let next = try makeRuntime(row, lease: old.lease)
                // A back-off the server advised still holds for the new client (the chaos soak
                // counted violations from fresh budgets sending into it).
                await next.client.budget.inherit(await old.client.budget.inheritance())
                guard state.replace(old, with: next) else { return nil }
                FleetMetrics.tenantReload(outcome: "ok")
                deps.logger.notice("tenant restarted with its changed settings", metadata: [
                    "tenant": "\(row.name)", "changed": "\(change?.description ?? "none")",
                    "subscriptions": "\(change?.forgetsSubscriptions == true ? "forgotten" : "kept")",
                    "sync_states": "\(change?.forgetsSyncStates == true ? "forgotten" : "kept")",
                ])
                return (next, mailboxes)
            } catch is LeaseLostError {
                FleetMetrics.leaseFencedWrites("tenant_reload")
                state.leaseLost(old.lease, cause: "fenced_write", logger: deps.logger)
                return nil
            } catch {
                FleetMetrics.tenantReload(outcome: "failed")
                let attempt = pacer.failed()
                deps.logger.error("cannot restart tenant with its changed settings; it stays stopped", metadata: [
                    "tenant": "\(row.name)", "error": "\(error)", "retry_in": "\(attempt.delay)",
                ])
                // Its mailboxes say so, rather than the state their stopped actors left behind.
                for id in await old.mailboxIDs {
                    batcher.record(.init(
                        mailboxID: id, state: MailboxStatusState.backingOff.rawValue, errorCode: "tenant_reload",
                        errorMessage: "cannot restart the tenant with its changed settings: \(error)",
                        consecutiveFailures: pacer.failures,
                        nextAttemptAt: Date().addingTimeInterval(attempt.delay.inSeconds),
                        instanceID: settings.instanceID, lease: old.lease))
                }
                try? await deps.clock.sleep(for: attempt.delay)
                guard !Task.isCancelled else { return nil }
            }
        }
        return nil
    }

    func makeRuntime(_ tenant: Tenant, lease: LeaseToken) throws -> TenantRuntime<C> {
        let identity = try TenantIdentity.http(for: tenant, keyring: deps.keyring)
        let budget = IdentityBudget(maxConcurrent: tenant.throttling.maxConcurrentRequests,
                                    rate: tenant.throttling.requestRate, clock: deps.clock)
        let endpoint = EWSClient<C>.Endpoint(
            url: tenant.ewsURL, identity: identity, serverVersion: settings.serverVersion, impersonation: tenant.impersonation,
            timeouts: HTTPTimeouts(connect: .seconds(10), total: .seconds(120), idleRead: settings.streamIdleTimeout))
        let client = EWSClient(endpoint: endpoint, http: deps.http, budget: budget, logger: deps.logger)
        let logger = deps.logger
        let state = self.state
        return TenantRuntime(
            tenant: tenant, lease: lease, client: client, clock: deps.clock, settings: settings, pool: deps.pool,
            batcher: batcher, logger: deps.logger,
            onBlocked: { state.reportBlocked(lease, .init(tenant: tenant.name, message: $0.message)) },
            onLeaseLost: { lease in state.leaseLost(lease, cause: "fenced_write", logger: logger) })
    }

    /// EWS refused a tenant (HTTP 403): mark it blocked, so the next pass stops it and it is retried
    /// rarely. Only while this run holds the lease: a stale holder must not block the new one. Run by
    /// the reconcile loop and by `shutdown` (before the leases are released), never in a task of its
    /// own that could outlive the supervisor.
    private func markBlocked() async {
        for (lease, report) in state.takeBlockedReports() {
            deps.logger.error("EWS refused the tenant with HTTP 403; marking it blocked", metadata: ["tenant": "\(report.tenant)"])
            do {
                try await TenantRepository(pool: deps.pool).setState(
                    name: report.tenant, .blocked, reason: "EWS refused with HTTP 403 (\(report.message)); retried hourly",
                    lease: lease)
            } catch is LeaseLostError {
                FleetMetrics.leaseFencedWrites("tenant_state")
                state.leaseLost(lease, cause: "fenced_write", logger: deps.logger)
            } catch {
                deps.logger.warning("could not mark the tenant blocked; trying again", metadata: [
                    "tenant": "\(report.tenant)", "error": "\(error)",
                ])
                state.requeueBlocked(lease, report)
            }
        }
    }

    private func followControlNotifications() async {
        do {
            for try await _ in deps.pool.notifications(channel: "ewsfleet_control") { state.wake() }
        } catch {
            deps.logger.warning("control notifications stopped; relying on periodic reconciliation", metadata: ["error": "\(error)"])
        }
    }

    private func heartbeat() async throws {
        // Six missed heartbeats (one per reconcile, every third of the lease) make it stale.
        let shared = try await InstanceRepository(pool: deps.pool).heartbeat(
            holder: holder, hostname: ProcessInfo.processInfo.hostName,
            pid: Int(ProcessInfo.processInfo.processIdentifier), version: ProductVersion.current, staleAfter: settings.leaseTTL * 2)
        // Harmless for the data (leases are per run), but both processes write one fleet_instances
        // row and one instance_id into status rows: say so, once per run.
        if shared, state.firstSharedInstanceWarning() {
            deps.logger.warning("another live process runs with this instance id; give each process its own instance.id",
                                metadata: ["instance": "\(settings.instanceID)", "run": "\(holder.run)"])
        }
    }

    private func shutdown() async {
        await batcher.flush()
        await markBlocked()
        // Nothing watches these mailboxes any more: each lease still held is released with its
        // mailboxes marked `idle` (rather than left `streaming`), so a successor takes the tenant at
        // once. A lease already lost is not ours to release, nor are its mailboxes' rows.
        let leases = LeaseRepository(pool: deps.pool)
        for runtime in state.runtimes {
            do {
                try await leases.release(runtime.lease)
            } catch {
                deps.logger.warning("could not release the lease; it expires on its own",
                                    metadata: ["tenant": "\(runtime.tenant.name)", "error": "\(error)"])
            }
        }
        try? await InstanceRepository(pool: deps.pool).markStopped(holder: holder)
        deps.logger.info("fleet instance stopped", metadata: ["instance": "\(settings.instanceID)"])
    }
}
