public import HTTP
public import Logging
import Foundation
public import ServiceLifecycle
public import Store

/// The fleet service: takes the lease of every active tenant it can, runs a `TenantRuntime` for
/// each, renews leases and reacts to control notifications (tenants and mailboxes added, paused or
/// removed). A tenant whose lease is lost stops at once; an expired lease of a dead instance is
/// taken over. On graceful shutdown it stops reading, lets in-flight commits finish, flushes status
/// and releases its leases.
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
    let batcher: StatusBatcher
    let state: SupervisorState<C>
    /// How often a blocked (HTTP 403) tenant is tried again.
    public let blockedRetryInterval: Duration

    public init(dependencies: Dependencies, settings: FleetSettings, blockedRetryInterval: Duration = .seconds(3600)) {
        deps = dependencies
        self.blockedRetryInterval = blockedRetryInterval
        self.settings = settings
        batcher = StatusBatcher(pool: dependencies.pool, logger: dependencies.logger)
        state = SupervisorState()
    }

    public func run() async throws {
        try await Migrator(pool: deps.pool).requireCurrent()
        try await heartbeat()
        deps.logger.info("fleet instance started", metadata: ["instance": "\(settings.instanceID)"])
        await withGracefulShutdownHandler {
            await withDiscardingTaskGroup { group in
                group.addTask { await self.batcher.run(every: self.settings.statusFlushInterval, clock: self.deps.clock) }
                group.addTask { await self.followControlNotifications() }
                // Reconcile every third of the lease TTL (renewals), and at once on a control
                // notification (tenant or mailbox added, paused, removed).
                while !state.isShuttingDown && !Task.isCancelled {
                    try? await heartbeat()
                    await reconcile(group: &group)
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
            let id = running.tenant.id
            let tenant = wanted[id]
            var keep = tenant?.state == .active
            if keep { keep = (try? await leases.renew(running.lease, ttl: settings.leaseTTL)) ?? true }
            if !keep {
                deps.logger.notice("stopping tenant", metadata: ["tenant": "\(running.tenant.name)",
                                                              "reason": "\(tenant == nil ? "removed" : tenant!.state == .active ? "lease lost" : tenant!.state.rawValue)"])
                running.finish()
                state.remove(id)
                if tenant != nil, tenant?.state != .active { try? await leases.release(running.lease) }
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
                guard let lease = try await leases.acquire(tenantID: tenant.id, instanceID: settings.instanceID, ttl: settings.leaseTTL)
                else { continue }
                let runtime = try makeRuntime(tenant, lease: lease)
                let mailboxes = try await MailboxRepository(pool: deps.pool).list(tenant: tenant.name)
                state.add(runtime)
                if tenant.state == .blocked { try? await TenantRepository(pool: deps.pool).setState(name: tenant.name, .active, reason: nil) }
                deps.logger.info("running tenant", metadata: ["tenant": "\(tenant.name)", "mailboxes": "\(mailboxes.count)",
                                                           "epoch": "\(lease.epoch)"])
                group.addTask { await runtime.run(initial: mailboxes) }
                state.clearFailures(tenant.id)
            } catch {
                let delay = state.recordFailure(tenant.id, now: now,
                                                policy: RetryPacer.Policy(initial: settings.backoffInitial, maximum: settings.backoffMax))
                deps.logger.error("cannot start tenant", metadata: ["tenant": "\(tenant.name)", "error": "\(error)", "retry_in": "\(delay)"])
            }
        }
    }

    func makeRuntime(_ tenant: Tenant, lease: LeaseToken) throws -> TenantRuntime<C> {
        let identity = try TenantIdentity.http(for: tenant, keyring: deps.keyring)
        let budget = IdentityBudget(maxConcurrent: tenant.throttling.maxConcurrentRequests,
                                    rate: tenant.throttling.requestRate, clock: deps.clock)
        let endpoint = EWSClient<C>.Endpoint(
            url: tenant.ewsURL, identity: identity, serverVersion: settings.serverVersion, impersonation: tenant.impersonation,
            timeouts: HTTPTimeouts(connect: .seconds(10), total: .seconds(120), idleRead: settings.streamIdleTimeout))
        let client = EWSClient(endpoint: endpoint, http: deps.http, budget: budget, logger: deps.logger)
        let pool = deps.pool
        let logger = deps.logger
        let state = self.state
        return TenantRuntime(
            tenant: tenant, lease: lease, client: client, clock: deps.clock, settings: settings, pool: pool,
            batcher: batcher, logger: deps.logger,
            onBlocked: { error in
                // EWS refused the tenant (HTTP 403): mark it blocked, stop it, retry rarely.
                Task {
                    logger.error("EWS refused the tenant with HTTP 403; marking it blocked", metadata: ["tenant": "\(tenant.name)"])
                    try? await TenantRepository(pool: pool).setState(
                        name: tenant.name, .blocked, reason: "EWS refused with HTTP 403 (\(error.message)); retried hourly")
                    state.wake()
                }
            })
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
        try await FleetStateRepository(pool: deps.pool).heartbeat(
            instanceID: settings.instanceID, hostname: ProcessInfo.processInfo.hostName,
            pid: Int(ProcessInfo.processInfo.processIdentifier), version: "0.1.0", staleAfter: settings.leaseTTL * 2)
    }

    private func shutdown() async {
        await batcher.flush()
        // Nothing watches these mailboxes any more: say so rather than leave `streaming` behind.
        do {
            try await FleetStateRepository(pool: deps.pool).markIdle(instanceID: settings.instanceID)
        } catch {
            deps.logger.warning("could not mark this instance's mailboxes idle", metadata: ["error": "\(error)"])
        }
        let leases = LeaseRepository(pool: deps.pool)
        for runtime in state.runtimes { try? await leases.release(runtime.lease) }
        try? await FleetStateRepository(pool: deps.pool).markStopped(instanceID: settings.instanceID)
        deps.logger.info("fleet instance stopped", metadata: ["instance": "\(settings.instanceID)"])
    }
}
