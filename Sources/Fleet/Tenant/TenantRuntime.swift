import EWS
import Foundation
import HTTP
import Logging
import Store

/// All mailboxes of one tenant on this instance, under the tenant's lease: one `EWSClient` and
/// throttling budget for the tenant identity, stream groups by affinity, one actor per mailbox.
actor TenantRuntime<C: Clock<Duration>>: MailboxEnvironment where C.Instant: Sendable {
    enum Command: Sendable {
        case reconcile([Mailbox])
        case startGroup(StreamGroup<C>)
        case startMailbox(MailboxActor<C>)
        /// The tenant row as the supervisor read it (an operator may have reset its grouping).
        case tenantChanged(Tenant)
        /// From stream groups: refused ids, ids proven on a healthy connection, server reachability.
        case refusals(group: String, StreamGroupMachine<C.Instant>.Refusals)
        case established([Int64])
        case reachability(group: String, reachable: Bool)
        /// The start-up gate's deadline passed.
        case openGate
    }

    nonisolated let clock: C
    nonisolated let tenant: Tenant
    nonisolated let lease: LeaseToken
    let client: EWSClient<C>
    let ews: TenantEWS<C>
    let settings: FleetSettings
    let pool: PostgresPool
    let batcher: StatusBatcher
    let logger: Logger
    nonisolated let routes: RouteTable<C>
    let onBlocked: @Sendable (EWSCallError) -> Void
    /// Every write under the tenant's lease; a refused one makes the supervisor stop this runtime.
    let writer: TenantWriter
    /// Stream groups and their members.
    var registry: StreamGroupRegistry<C>
    /// The mailboxes that have an actor here, and what a new list from the database asks of them.
    private var roster: MailboxRoster
    private(set) var actors: [Int64: MailboxActor<C>] = [:]
    /// Affinity keys from Autodiscover, by SMTP address.
    private(set) var affinityKeysByAddress: [String: String] = [:]
    private var persisted: [Int64: SubscriptionRepository.SubscriptionRecord] = [:]
    /// Persisted EWS folder ids by mailbox (EWS id → folder key), loaded once per tenant start.
    var persistedFolderIDs: [Int64: [String: String]] = [:]
    /// Which subscription ids can be trusted; what refusals say about the server.
    var trust = SubscriptionTrust<C.Instant>()
    /// `updated_at` of the newest tenant row applied or written here: an older row the
    /// supervisor read before our own write must not undo it.
    var tenantRowVersion: Date
    /// Mailboxes of the first reconcile that have not yet joined a group or failed to subscribe:
    /// until none is left (or the gate's deadline), groups do not open, so each opens about once.
    var startupPending: Set<Int64> = []
    var gateOpen = false
    private let commands: AsyncStream<Command>
    let input: AsyncStream<Command>.Continuation

    init(tenant: Tenant, lease: LeaseToken, client: EWSClient<C>, clock: C, settings: FleetSettings, pool: PostgresPool,
         batcher: StatusBatcher, logger: Logger, onBlocked: @escaping @Sendable (EWSCallError) -> Void,
         onLeaseLost: @escaping @Sendable (LeaseToken) -> Void) {
        self.tenant = tenant
        self.lease = lease
        self.client = client
        self.clock = clock
        self.settings = settings
        self.pool = pool
        self.batcher = batcher
        self.onBlocked = onBlocked
        var logger = logger
        logger[metadataKey: "tenant"] = "\(tenant.name)"
        self.logger = logger
        writer = TenantWriter(pool: pool, lease: lease, tenant: tenant, logger: logger, onLeaseLost: onLeaseLost)
        registry = StreamGroupRegistry(
            grouping: tenant.grouping,
            planner: GroupPlanner(capacity: tenant.throttling.subscriptionsPerConnection,
                                  maxGroups: tenant.impersonation ? nil : tenant.throttling.hangingConnections))
        roster = MailboxRoster(tenant: tenant)
        tenantRowVersion = tenant.updatedAt
        let routes = RouteTable<C>()
        self.routes = routes
        ews = TenantEWS(client: client, routeFor: { routes.route(for: $0) })
        (commands, input) = AsyncStream.makeStream(of: Command.self)
    }

    nonisolated func send(_ command: Command) { input.yield(command) }

    /// Runs the tenant until cancelled (lease lost, tenant removed, shutdown). Mailbox actors keep
    /// their subscriptions persisted on the way out, for a warm restart.
    func run(initial: [Mailbox]) async {
        await withDiscardingTaskGroup { group in
            await loadPersistedSubscriptions()
            await loadFolderIDs()
            await discoverAffinity(initial.filter(\.enabled).map(\.smtpAddress))
            startGate(initial, group: &group)
            reconcile(initial)
            for await command in commands {
                switch command {
                case .reconcile(let list):
                    let added = list.filter { roster.mailboxes[$0.id] == nil && $0.enabled }.map(\.smtpAddress)
                    if !added.isEmpty { await discoverAffinity(added) }
                    reconcile(list)
                case .startGroup(let streamGroup):
                    group.addTask { await streamGroup.run() }
                case .startMailbox(let actor):
                    group.addTask { await actor.run() }
                case .tenantChanged(let row):
                    guard row.updatedAt > tenantRowVersion else { continue }
                    tenantRowVersion = row.updatedAt
                    if row.grouping != registry.grouping { await regroup(row.grouping, reason: nil) }
                case .refusals(let key, let refusals):
                    await handle(refusals, group: key)
                case .established(let ids):
                    trust.established(ids)
                case .reachability(let key, let reachable):
                    handleReachability(group: key, reachable: reachable)
                case .openGate:
                    openGate()
                }
            }
            // Finished (lease lost, tenant stopped, shutdown): actors stop where they are and keep
            // their subscriptions persisted; stream groups close. A commit already running completes
            // or rolls back as a whole.
            for actor in actors.values { actor.send(.stop) }
            for streamGroup in registry.groups.values { streamGroup.close() }
            group.cancelAll()
        }
    }

    /// Ends the runtime: actors stop (keeping subscriptions), groups close.
    nonisolated func finish() { input.finish() }

    var mailboxCount: Int { actors.count }
    /// The mailboxes this runtime ran, for the status a failed reload writes on their behalf.
    var mailboxIDs: [Int64] { Array(roster.mailboxes.keys) }
    var groupCount: Int { registry.groups.count }

    /// Carries out what the roster asks to match the database.
    private func reconcile(_ list: [Mailbox]) {
        for step in roster.reconcile(list) {
            switch step {
            case .launch(let mailbox, let warm):
                launch(mailbox, persistedSubscription: warm ? persisted[mailbox.id]?.subscriptionID : nil)
            case .retire(let id):
                retire(id)
            case .pause(let id):
                trust.drop(id)
                actors[id]?.send(.pause)
            case .resume(let id):
                actors[id]?.send(.resume)
            case .resync(let id):
                actors[id]?.send(.resync)
            }
        }
    }

    private func launch(_ mailbox: Mailbox, persistedSubscription: String?) {
        routes.set(mailbox.smtpAddress, initialRoute(for: mailbox))
        let config = MailboxMachine<C.Instant>.Config(for: mailbox, in: tenant, settings: settings,
                                                      knownFolderIDs: persistedFolderIDs[mailbox.id] ?? [:])
        let actor = MailboxActor(mailbox: mailbox, config: config, environment: self, logger: logger)
        actors[mailbox.id] = actor
        input.yield(.startMailbox(actor))
        if mailbox.enabled {
            actor.send(.start(persistedSubscription: persistedSubscription))
        } else {
            actor.send(.start(persistedSubscription: nil))
            actor.send(.pause)
        }
    }

    /// Stops a mailbox's actor (it keeps its subscription persisted) and frees its place; a group
    /// left empty is dropped, which closes its connection and frees one of the identity's.
    private func retire(_ id: Int64) {
        actors.removeValue(forKey: id)?.send(.stop)
        trust.drop(id)
        registry.remove(id)?.close()
        arrived(id)
    }

    // MARK: affinity

    private func loadPersistedSubscriptions() async {
        do {
            for record in try await SubscriptionRepository(pool: pool).subscriptions(tenantID: tenant.id) {
                persisted[record.mailboxID] = record
                trust.loaded(mailboxID: record.mailboxID, id: record.subscriptionID, server: record.groupKey)
            }
        } catch {
            logger.warning("could not load persisted subscriptions; mailboxes will resubscribe", metadata: ["error": "\(error)"])
        }
    }

    /// Asks Autodiscover which server each mailbox lives on (batches of 100). Without an Autodiscover
    /// URL, or for mailboxes it cannot place, the Subscribe cookie decides later.
    private func discoverAffinity(_ addresses: [String]) async {
        guard let url = tenant.autodiscoverURL, !addresses.isEmpty else { return }
        for start in stride(from: 0, to: addresses.count, by: 100) {
            let batch = Array(addresses[start..<min(start + 100, addresses.count)])
            do {
                let response = try await client.userSettings(autodiscoverURL: url, mailboxes: batch)
                for (address, user) in zip(batch, response.userResponses) where user.isSuccess {
                    if let key = user.groupingKey { affinityKeysByAddress[address] = key }
                }
            } catch {
                logger.warning("autodiscover failed; grouping by Subscribe cookie", metadata: ["error": "\(error)"])
                return
            }
        }
    }

    /// Before its first subscribe a mailbox is routed by its Autodiscover group (anchor + shared
    /// cookie store) when known, by its persisted group after a restart, or else on its own.
    private func initialRoute(for mailbox: Mailbox) -> EWSClient<C>.Route {
        if let key = affinityKeysByAddress[mailbox.smtpAddress] ?? persisted[mailbox.id]?.groupKey,
           let group = streamGroup(for: mailbox, key: key) {
            if let cookie = persisted[mailbox.id]?.affinityCookie, group.cookies.value(of: Self.cookieName) == nil {
                group.cookies.set(Self.cookieName, cookie)
            }
            return EWSClient<C>.Route(mailbox: mailbox.smtpAddress, anchor: persisted[mailbox.id]?.anchorMailbox ?? mailbox.smtpAddress,
                                      cookies: group.cookies)
        }
        return EWSClient<C>.Route(mailbox: mailbox.smtpAddress, anchor: mailbox.smtpAddress, cookies: AffinityCookieStore())
    }

    static var cookieName: String { "X-BackEndOverrideCookie" }

    /// The mailbox's stream group for this affinity key, made and started when new; nil when the
    /// tenant's connection cap allows no new group (the key is kept for the mailbox's next try).
    func streamGroup(for mailbox: Mailbox, key server: String) -> StreamGroup<C>? {
        switch registry.place(mailbox, key: server) {
        case .existing(let group): return group
        case .none: return nil
        case .new(let name):
            let group = makeGroup(name)
            registry.add(group)
            input.yield(.startGroup(group))
            return group
        }
    }

    private func makeGroup(_ name: String) -> StreamGroup<C> {
        let batcher = self.batcher
        let input = self.input
        let lease = self.lease
        return StreamGroup(
            key: name, client: client, clock: clock, connectionTimeoutMinutes: settings.connectionTimeoutMinutes,
            config: settings.streamGroupConfig(C.Instant.self), gateOpen: gateOpen,
            seed: UInt64(truncatingIfNeeded: name.utf8.reduce(5381) { ($0 &* 33) &+ Int($1) }) ^ UInt64(bitPattern: tenant.id),
            logger: logger,
            callbacks: .init(
                tenantBlocked: onBlocked,
                activity: { batcher.recordActivity(heartbeat: $0, events: $1, lease: lease) },
                refusals: { input.yield(.refusals(group: $0, $1)) },
                established: { input.yield(.established($0)) },
                reachability: { input.yield(.reachability(group: $0, reachable: $1)) }))
    }

    func persistedSubscriptionID(_ mailboxID: Int64) -> String? { persisted[mailboxID]?.subscriptionID }

    nonisolated func notifyBlocked(_ error: EWSCallError) { onBlocked(error) }
}
