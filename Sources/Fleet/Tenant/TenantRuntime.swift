import EWS
import Foundation
import HTTP
import Logging
import Store
import Synchronization

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
    /// A write was refused because the tenant's lease moved: the supervisor stops this runtime.
    let onLeaseLost: @Sendable (LeaseToken) -> Void
    var planner: GroupPlanner
    var groups: [String: StreamGroup<C>] = [:]
    /// Group name → the affinity key (server) it was made for.
    var groupServers: [String: String] = [:]
    private(set) var actors: [Int64: MailboxActor<C>] = [:]
    private var mailboxes: [Int64: Mailbox] = [:]
    /// Affinity keys from Autodiscover, by SMTP address.
    private(set) var affinityKeysByAddress: [String: String] = [:]
    /// Affinity keys of mailboxes that found no group (connection cap reached), for their next try.
    var ungroupedKeys: [Int64: String] = [:]
    private var persisted: [Int64: SubscriptionRepository.SubscriptionRecord] = [:]
    /// Persisted EWS folder ids by mailbox (EWS id → folder key), loaded once per tenant start.
    var persistedFolderIDs: [Int64: [String: String]] = [:]
    /// Which subscription ids can be trusted; what refusals say about the server.
    var trust = SubscriptionTrust<C.Instant>()
    /// How mailboxes share streaming connections (the tenant row's, or what the server forced).
    var grouping: StreamGrouping
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
        self.onLeaseLost = onLeaseLost
        var logger = logger
        logger[metadataKey: "tenant"] = "\(tenant.name)"
        self.logger = logger
        planner = GroupPlanner(capacity: tenant.throttling.subscriptionsPerConnection,
                               maxGroups: tenant.impersonation ? nil : tenant.throttling.hangingConnections)
        grouping = tenant.grouping
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
                    let added = list.filter { mailboxes[$0.id] == nil && $0.enabled }.map(\.smtpAddress)
                    if !added.isEmpty { await discoverAffinity(added) }
                    reconcile(list)
                case .startGroup(let streamGroup):
                    group.addTask { await streamGroup.run() }
                case .startMailbox(let actor):
                    group.addTask { await actor.run() }
                case .tenantChanged(let row):
                    guard row.updatedAt > tenantRowVersion else { continue }
                    tenantRowVersion = row.updatedAt
                    if row.grouping != grouping { await regroup(row.grouping, reason: nil) }
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
            for streamGroup in groups.values { streamGroup.close() }
            group.cancelAll()
        }
    }

    /// Ends the runtime: actors stop (keeping subscriptions), groups close.
    nonisolated func finish() { input.finish() }

    var mailboxCount: Int { actors.count }
    /// The mailboxes this runtime ran, for the status a failed reload writes on their behalf.
    var mailboxIDs: [Int64] { Array(mailboxes.keys) }
    var groupCount: Int { groups.count }

    /// Starts, pauses, resumes, restarts and stops actors to match the database.
    private func reconcile(_ list: [Mailbox]) {
        let wanted = Dictionary(uniqueKeysWithValues: list.map { ($0.id, $0) })
        for id in actors.keys where wanted[id] == nil { retire(id) }
        for mailbox in list {
            if let was = mailboxes[mailbox.id], needsRestart(was, mailbox) {
                // `mailbox update` changed what it watches or how: a new actor with the new
                // settings, starting without a subscription (a changed folder set forgot it; a
                // mode change needs none or a new one). A sync of the old actor still running
                // commits as a whole, or is refused for a folder no longer watched.
                retire(mailbox.id)
                launch(mailbox, persistedSubscription: nil)
                continue
            }
            if let actor = actors[mailbox.id] {
                let was = mailboxes[mailbox.id]
                mailboxes[mailbox.id] = mailbox
                if was?.enabled == true, !mailbox.enabled {
                    trust.drop(mailbox.id)
                    actor.send(.pause)
                }
                if was?.enabled == false, mailbox.enabled { actor.send(.resume) }
                if let requested = mailbox.resyncRequestedAt, requested != was?.resyncRequestedAt { actor.send(.resync) }
                continue
            }
            launch(mailbox, persistedSubscription: persisted[mailbox.id]?.subscriptionID)
        }
    }

    /// Whether a change of the mailbox row needs a new actor: what it watches, its mode, or (in
    /// sync-only mode) its interval. Pause, resume and resync are told to the running actor.
    private func needsRestart(_ old: Mailbox, _ new: Mailbox) -> Bool {
        let mode = new.effectiveMode(in: tenant)
        return old.watch != new.watch || old.effectiveMode(in: tenant) != mode || old.filter != new.filter
            || mode == .syncOnly && old.effectivePollInterval(in: tenant) != new.effectivePollInterval(in: tenant)
    }

    private func launch(_ mailbox: Mailbox, persistedSubscription: String?) {
        mailboxes[mailbox.id] = mailbox
        routes.set(mailbox.smtpAddress, initialRoute(for: mailbox))
        let actor = MailboxActor(mailbox: mailbox, config: machineConfig(for: mailbox), environment: self, logger: logger)
        actors[mailbox.id] = actor
        input.yield(.startMailbox(actor))
        if mailbox.enabled {
            actor.send(.start(persistedSubscription: persistedSubscription))
        } else {
            actor.send(.start(persistedSubscription: nil))
            actor.send(.pause)
        }
    }

    /// Stops a mailbox's actor (it keeps its subscription persisted) and frees its place.
    private func retire(_ id: Int64) {
        actors.removeValue(forKey: id)?.send(.stop)
        mailboxes[id] = nil
        ungroupedKeys[id] = nil
        trust.drop(id)
        releaseGroup(of: id)
        arrived(id)
    }

    private func machineConfig(for mailbox: Mailbox) -> MailboxMachine<C.Instant>.Config {
        // All-folders mode discovers its folders with SyncFolderHierarchy (see HierarchySyncer).
        let folders: [String] =
            switch mailbox.watch {
            case .folders(let list): list
            case .allFolders: []
            }
        var config = MailboxMachine<C.Instant>.Config(
            folders: folders, coalescingWindow: settings.coalescingWindow,
            safetySyncInterval: settings.safetySyncInterval, pollInterval: settings.pollInterval,
            backoff: RetryBackoff(initial: settings.backoffInitial, maximum: settings.backoffMax,
                                  seed: UInt64(bitPattern: mailbox.id) &* 0x9E37_79B9),
            allFolders: mailbox.watch == .allFolders,
            // Ids of folders no longer watched (kept after `mailbox update`) must not map events.
            knownFolderIDs: (persistedFolderIDs[mailbox.id] ?? [:]).filter { mailbox.watch == .allFolders || folders.contains($0.value) })
        config.maxResubscribes = settings.maxResubscribes
        config.deleteOnNotification = settings.deleteOnNotification
        if folders.contains(FolderSyncer.calendarFolder) {
            config.windowMoves = { .seconds(CalendarWindowSetting.secondsUntilItMoves(from: Date())) }
        }
        if mailbox.effectiveMode(in: tenant) == .syncOnly {
            let interval = Duration.seconds(mailbox.effectivePollInterval(in: tenant))
            config.syncOnly = true
            config.pollInterval = interval
            config.scheduleOffset = SyncSchedule.offset(mailboxID: mailbox.id, interval: interval)
        }
        return config
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

    /// The mailbox's stream group for this affinity key, created when new; nil when the tenant's
    /// connection cap allows no new group (the key is kept for the mailbox's next try). With
    /// per-mailbox grouping every mailbox is a group of its own.
    func streamGroup(for mailbox: Mailbox, key server: String) -> StreamGroup<C>? {
        let key = grouping == .perMailbox ? "mailbox:\(mailbox.smtpAddress)" : server
        guard let name = planner.group(for: mailbox.id, key: key) else {
            ungroupedKeys[mailbox.id] = server
            return nil
        }
        ungroupedKeys[mailbox.id] = nil
        if let existing = groups[name] { return existing }
        groupServers[name] = server
        let batcher = self.batcher
        let onBlocked = self.onBlocked
        let input = self.input
        let lease = self.lease
        let group = StreamGroup(
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
        groups[name] = group
        input.yield(.startGroup(group))
        return group
    }

    func groupKey(of mailbox: Mailbox) -> String? { planner.assignment[mailbox.id] }

    func persistedSubscriptionID(_ mailboxID: Int64) -> String? { persisted[mailboxID]?.subscriptionID }

    /// The affinity key a mailbox without a group should try again with.
    func ungroupedKey(of mailbox: Mailbox) -> String? { ungroupedKeys[mailbox.id] }

    /// A removed mailbox frees its place; a group left empty is dropped, which closes its
    /// connection and so frees a streaming connection of the identity for another group.
    private func releaseGroup(of mailboxID: Int64) {
        guard let name = planner.assignment[mailboxID] else { return }
        planner.remove(mailboxID)
        if planner.size(of: name) == 0, let group = groups.removeValue(forKey: name) { group.close() }
    }

    nonisolated func notifyBlocked(_ error: EWSCallError) { onBlocked(error) }
}

/// SMTP address → route, readable without hopping onto the tenant actor (EWS calls look it up).
final class RouteTable<C: Clock<Duration>>: Sendable where C.Instant: Sendable {
    private let routes = Mutex<[String: EWSClient<C>.Route]>([:])

    func route(for mailbox: String) -> EWSClient<C>.Route {
        routes.withLock { $0[mailbox] } ?? EWSClient<C>.Route(mailbox: mailbox)
    }

    func set(_ mailbox: String, _ route: EWSClient<C>.Route) {
        routes.withLock { $0[mailbox] = route }
    }
}
