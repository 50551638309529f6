import EWS
import Logging
import Store

/// What a mailbox actor needs from its tenant: EWS calls, the change pipeline, stream groups and
/// persistence. `TenantRuntime` provides it; tests use a fake.
protocol MailboxEnvironment<C>: Sendable {
    associatedtype C: Clock<Duration> where C.Instant: Sendable
    var clock: C { get }
    func subscribe(_ mailbox: Mailbox) async throws -> String
    func unsubscribe(_ mailbox: Mailbox, subscriptionID: String) async throws
    func sync(_ mailbox: Mailbox, folder: String, fromScratch: Bool) async throws
    func resetSyncState(_ mailbox: Mailbox, folder: String) async throws
    /// All-folders mode: SyncFolderHierarchy, committed; returns the folders to sync.
    func refreshHierarchy(_ mailbox: Mailbox) async throws -> FolderDirectory
    /// List mode: EWS ids of distinguished folders (EWS id → name), persisted.
    func resolveFolderIDs(_ mailbox: Mailbox, folders: [String]) async throws -> [String: String]
    /// All-folders mode: a vanished folder's items leave the mirror, each with a `deleted` row.
    func dropFolder(_ mailbox: Mailbox, folder: String) async throws
    /// Items a DeletedEvent named leave the folder's mirror, each with a `deleted` row; the
    /// folder's SyncState stays. Returns how many left.
    func deleteLocally(_ mailbox: Mailbox, folder: String, items: [String]) async throws -> Int
    func persistSubscription(_ mailbox: Mailbox, subscriptionID: String?) async throws
    /// Joins the mailbox's stream group; false when there is no room for one (it is then polled).
    /// `established`: a stored id, not one the server just handed out.
    func join(_ mailbox: Mailbox, subscriptionID: String, established: Bool, owner: MailboxActor<C>) async -> Bool
    /// Leaves the group, if `owner` (this actor, not a newer one of the same mailbox) is the member.
    func leave(_ mailbox: Mailbox, owner: MailboxActor<C>) async
    /// Events named folders the subscription does not watch (evidence of a restarted server).
    func foreignEvents(_ mailbox: Mailbox, subscriptionID: String) async
    func status(_ mailbox: Mailbox, _ state: MailboxStatusState, failure: MailboxFailure?, failures: Int,
                nextAttempt: C.Instant?)
}

/// One mailbox: a thin actor around `MailboxMachine`. Events (notifications and errors from its
/// stream group, results of its own EWS calls, timer ticks) go through one stream; `run()` applies
/// each to the machine and executes the actions it returns. Long calls (subscribe, sync) run as
/// child tasks and report back as events, so a notification arriving mid-sync is never lost: it
/// only marks the folder dirty again.
actor MailboxActor<C: Clock<Duration>> where C.Instant: Sendable {
    enum Event: Sendable {
        case start(persistedSubscription: String?)
        case notified(folders: Set<String>?)
        case activity(FolderActivity)
        case hierarchyRefreshed(FolderDirectory)
        case hierarchyFailed(MailboxFailure)
        case foldersResolved([String: String]?)
        case streamFailed(MailboxFailure)
        /// The group's connection carrying this subscription brought its first message.
        case streamUp
        /// ... and lived long enough: the subscription works.
        case streamHealthy
        /// The group's connection failed; it reopens at `retryAt`.
        case streamDown(MailboxFailure, failures: Int, retryAt: C.Instant, wasHealthy: Bool)
        /// The tenant no longer trusts this mailbox's subscription id (reason).
        case subscriptionSuspect(String)
        /// The tenant changed its grouping: join a group again.
        case regroup
        case pause
        case resume
        /// `mailbox resync`: every folder from scratch, now.
        case resync
        case stop
        case subscribed(String)
        case subscribeFailed(MailboxFailure)
        /// Whether `.joinGroup` found a stream group.
        case joined(Bool)
        case synced(String)
        case syncFailed(String, MailboxFailure)
        case tick(UInt64)
    }

    let mailbox: Mailbox
    private let environment: any MailboxEnvironment<C>
    private var machine: MailboxMachine<C.Instant>
    private let events: AsyncStream<Event>
    private let input: AsyncStream<Event>.Continuation
    private let logger: Logger
    private var timer = DeadlineTimer<C>()
    private var logs = LogThrottle<C.Instant>(interval: .seconds(60))

    init(mailbox: Mailbox, config: MailboxMachine<C.Instant>.Config, environment: any MailboxEnvironment<C>, logger: Logger) {
        self.mailbox = mailbox
        self.environment = environment
        machine = MailboxMachine(config: config)
        (events, input) = AsyncStream.makeStream(of: Event.self)
        var logger = logger
        logger[metadataKey: "mailbox"] = "\(mailbox.smtpAddress)"
        self.logger = logger
    }

    /// Enqueues an event; callable from any context (stream groups, the supervisor).
    nonisolated func send(_ event: Event) { input.yield(event) }

    /// Processes events until `.stop` has been handled (or the task is cancelled).
    func run() async {
        await withDiscardingTaskGroup { group in
            for await event in events {
                let actions = apply(event)
                for action in actions { await execute(action, group: &group) }
                armTimer(group: &group)
                if case .stop = event {
                    group.cancelAll()
                    break
                }
            }
        }
        input.finish()
    }

    var phase: MailboxMachine<C.Instant>.Phase { machine.phase }

    private func apply(_ event: Event) -> [MailboxAction<C.Instant>] {
        let now = environment.clock.now
        switch event {
        case .start(let persisted): return machine.start(persistedSubscription: persisted, now: now)
        case .notified(let folders): return machine.notified(folders: folders, now: now)
        case .activity(let activity): return machine.notified(activity, now: now)
        case .hierarchyRefreshed(let directory): return machine.hierarchyRefreshed(directory, now: now)
        case .hierarchyFailed(let failure): return machine.hierarchyRefreshFailed(failure, now: now)
        case .foldersResolved(let ids?): return machine.foldersResolved(ids)
        case .foldersResolved(nil): return machine.folderResolutionFailed()
        case .streamFailed(let failure): return machine.streamFailed(failure, now: now)
        case .streamUp: return machine.streamUp(now: now)
        case .streamHealthy: return machine.streamHealthy(now: now)
        case .streamDown(let failure, let failures, let retryAt, let wasHealthy):
            return machine.streamDown(failure, failures: failures, retryAt: retryAt, wasHealthy: wasHealthy, now: now)
        case .subscriptionSuspect(let reason): return machine.subscriptionSuspect(reason, now: now)
        case .regroup: return machine.regroup(now: now)
        case .pause: return machine.pause()
        case .resume: return machine.resume(now: now)
        case .resync: return machine.resyncRequested(now: now)
        case .stop: return machine.stop()
        case .subscribed(let id): return machine.subscribed(id: id, now: now)
        case .joined(let joined): return machine.joinedGroup(joined, now: now)
        case .subscribeFailed(let failure): return machine.subscribeFailed(failure, now: now)
        case .synced(let folder): return machine.folderSynced(folder, now: now)
        case .syncFailed(let folder, let failure): return machine.folderSyncFailed(folder, failure, now: now)
        case .tick(let generation):
            guard timer.fired(generation) else { return [] }
            return machine.tick(now: now)
        }
    }

    private func execute(_ action: MailboxAction<C.Instant>, group: inout DiscardingTaskGroup) async {
        let env = environment
        let mailbox = self.mailbox
        let input = self.input
        switch action {
        case .subscribe:
            group.addTask {
                do {
                    input.yield(.subscribed(try await env.subscribe(mailbox)))
                } catch {
                    input.yield(.subscribeFailed(Self.failure(error)))
                }
            }
        case .sync(let folder, let fromScratch):
            group.addTask {
                do {
                    try await env.sync(mailbox, folder: folder, fromScratch: fromScratch)
                    input.yield(.synced(folder))
                } catch {
                    input.yield(Self.stopIfLeaseLost(error) ?? .syncFailed(folder, Self.failure(error)))
                }
            }
        case .deleteLocally(let folder, let items):
            let logger = self.logger
            group.addTask {
                do {
                    FleetMetrics.deletedOnNotification(try await env.deleteLocally(mailbox, folder: folder, items: items))
                } catch {
                    if let stop = Self.stopIfLeaseLost(error) {
                        input.yield(stop)
                        return
                    }
                    // Not needed for correctness: the folder's sync, already due, records the delete.
                    logger.info("could not apply a delete event at once; the sync will", metadata: ["error": "\(error)"])
                }
            }
        case .unsubscribe(let id):
            // Best effort: an unsubscribe that fails leaves a subscription that expires on its own.
            group.addTask { try? await env.unsubscribe(mailbox, subscriptionID: id) }
        case .dropSyncState(let folder):
            await persist("reset sync state") { try await env.resetSyncState(mailbox, folder: folder) }
        case .persistSubscription(let id):
            await persist("persist subscription") { try await env.persistSubscription(mailbox, subscriptionID: id) }
        case .joinGroup(let id, let established):
            let joined = await env.join(mailbox, subscriptionID: id, established: established, owner: self)
            // Only news is sent back: a refusal, or a slot after polling.
            if !joined || machine.polling { input.yield(.joined(joined)) }
        case .leaveGroup:
            await env.leave(mailbox, owner: self)
        case .refreshHierarchy:
            group.addTask {
                do {
                    input.yield(.hierarchyRefreshed(try await env.refreshHierarchy(mailbox)))
                } catch {
                    input.yield(Self.stopIfLeaseLost(error) ?? .hierarchyFailed(Self.failure(error)))
                }
            }
        case .resolveFolders(let names):
            let logger = self.logger
            group.addTask {
                do {
                    input.yield(.foldersResolved(try await env.resolveFolderIDs(mailbox, folders: names)))
                } catch {
                    if let stop = Self.stopIfLeaseLost(error) {
                        input.yield(stop)
                        return
                    }
                    // Not fatal: until the ids are known a notification marks every folder dirty.
                    logger.info("could not resolve folder ids", metadata: ["error": "\(error)"])
                    input.yield(.foldersResolved(nil))
                }
            }
        case .dropFolder(let folder):
            logger.notice("folder vanished; dropping it from the mirror", metadata: ["folder": "\(folder)"])
            await persist("drop vanished folder") { try await env.dropFolder(mailbox, folder: folder) }
        case .countResubscribe(let reason):
            FleetMetrics.resubscribe(reason: reason)
            let now = env.clock.now
            if let suppressed = logs.allow(reason, now: now) {
                logger.notice("resubscribing", metadata: [
                    "reason": "\(reason)", "error": "\(machine.lastError.map { "\($0.code): \($0.message)" } ?? "-")",
                    "attempt": "\(machine.resubscribes.failures)", "suppressed": "\(suppressed)",
                ])
            }
        case .reportForeignEvents(let id):
            await env.foreignEvents(mailbox, subscriptionID: id)
        case .status(let state, let next):
            env.status(mailbox, state, failure: [.streaming, .polling, .scheduled, .syncing].contains(state) ? nil : machine.lastError,
                       failures: machine.failures, nextAttempt: next)
        }
    }

    /// Schedules one tick at the machine's next deadline (`DeadlineTimer`).
    private func armTimer(group: inout DiscardingTaskGroup) {
        let input = self.input
        timer.arm(machine.nextDeadline, clock: environment.clock, group: &group) { input.yield(.tick($0)) }
    }

    private func persist(_ what: String, _ body: () async throws -> Void) async {
        do {
            try await body()
        } catch is LeaseLostError {
            // Refused whole because the tenant's lease moved: retrying cannot succeed.
            input.yield(.stop)
        } catch {
            // The machine's state stays authoritative; a failed write is retried by the next
            // transition (and a lost subscription id only costs a resubscribe after a restart).
            logger.warning("could not \(what)", metadata: ["error": "\(error)"])
        }
    }

    /// A write refused because the tenant's lease moved to another holder: the runtime reported it
    /// and the supervisor is stopping the tenant, so the mailbox stops now, writing nothing more
    /// (no back-off, no status, no retry that cannot succeed). The next holder runs it.
    static func stopIfLeaseLost(_ error: any Error) -> Event? {
        error is LeaseLostError ? .stop : nil
    }

    static func failure(_ error: any Error) -> MailboxFailure {
        if let call = error as? EWSCallError { return call.failure }
        if let lease = error as? LeaseLostError {
            // Not reached from the fenced writes (see `stopIfLeaseLost`); never retried either.
            return MailboxFailure(action: .giveUp, code: "LeaseLost", message: lease.description)
        }
        if let unwatched = error as? FolderNotWatchedError {
            // `mailbox update` changed the folders under a running sync: the runtime replaces this
            // actor within a reconcile pass; until then the sync is retried paced, writing nothing.
            return MailboxFailure(action: .retryBounded(maxAttempts: 1000, then: .giveUp), code: "FolderNotWatched",
                                  message: unwatched.description)
        }
        if let pg = error as? PostgresError {
            return MailboxFailure(action: .retryBounded(maxAttempts: 1000, then: .giveUp), code: "Database", message: pg.description)
        }
        if error is CancellationError {
            return MailboxFailure(action: .retryBounded(maxAttempts: 1000, then: .giveUp), code: "Cancelled", message: "cancelled")
        }
        return MailboxFailure(action: EWSActionTable.unknownDefault, code: "Error", message: "\(error)")
    }
}
