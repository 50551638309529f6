import Foundation
import Logging
import Store
import Synchronization

/// Collects mailbox status changes and stream liveness from thousands of actors and writes them in
/// one statement per kind every `interval`, so status reporting never becomes the fleet's bottleneck.
/// Only the newest state of each mailbox is kept between flushes.
///
/// Every entry carries the tenant lease it was recorded under, and is written only while that lease
/// is still held (see `StatusRepository.saveStatus`): the entries of a tenant whose lease moved
/// are dropped (counted, logged, and reported through `onLeaseLost`, which stops the tenant), never
/// retried, and never hold back the other tenants' entries.
final class StatusBatcher: Sendable {
    private struct Pending {
        var status: [Int64: StatusRepository.StatusUpdate] = [:]
        var activity: [LeaseToken?: (heartbeats: Set<Int64>, events: Set<Int64>)] = [:]
    }

    private let pending = Mutex(Pending())
    private let statuses: StatusRepository
    private let subscriptions: SubscriptionRepository
    private let logger: Logger
    private let onLeaseLost: @Sendable (LeaseToken) -> Void

    init(pool: PostgresPool, logger: Logger, onLeaseLost: @escaping @Sendable (LeaseToken) -> Void = { _ in }) {
        statuses = StatusRepository(pool: pool)
        subscriptions = SubscriptionRepository(pool: pool)
        self.logger = logger
        self.onLeaseLost = onLeaseLost
    }

    func record(_ update: StatusRepository.StatusUpdate) {
        pending.withLock { $0.status[update.mailboxID] = update }
    }

    func recordActivity(heartbeat: [Int64], events: [Int64], lease: LeaseToken? = nil) {
        pending.withLock {
            $0.activity[lease, default: ([], [])].heartbeats.formUnion(heartbeat)
            $0.activity[lease, default: ([], [])].events.formUnion(events)
        }
    }

    /// Writes what has accumulated. When the database is unreachable the batch is put back (newer
    /// entries win), so an outage delays status, never loses the latest state. Any other failure is
    /// a bad row: the rows are then written one by one and only those that still fail are dropped,
    /// so one bad row never blocks the rest (nor every flush after it).
    func flush() async {
        let batch = pending.withLock { p -> Pending in
            defer { p = Pending() }
            return p
        }
        let updates = batch.status.values.sorted { $0.mailboxID < $1.mailboxID }
        do {
            dropStale(try await statuses.saveStatus(updates).refused)
        } catch let error as PostgresError where error.isRetryable {
            requeue(status: updates, error: error)
        } catch {
            await saveOneByOne(updates, after: error)
        }
        let activity = batch.activity.map {
            SubscriptionRepository.SubscriptionActivity(lease: $0.key, heartbeat: Array($0.value.heartbeats),
                                                      events: Array($0.value.events))
        }
        do {
            for lease in try await subscriptions.touchSubscriptions(activity) {
                // Counted here; the supervisor logs the tenant's stop (once, whatever reported it).
                FleetMetrics.leaseFencedWrites("liveness")
                onLeaseLost(lease)
            }
        } catch let error as PostgresError where !error.isRetryable {
            logger.warning("liveness update failed; dropped", metadata: ["error": "\(error)"])
        } catch {
            logger.warning("liveness update failed; will retry", metadata: ["error": "\(error)"])
            pending.withLock { p in
                for (lease, a) in batch.activity {
                    p.activity[lease, default: ([], [])].heartbeats.formUnion(a.heartbeats)
                    p.activity[lease, default: ([], [])].events.formUnion(a.events)
                }
            }
        }
    }

    /// Entries of tenants whose lease moved: dropped, not requeued (they can never be written),
    /// and the tenant is stopped.
    private func dropStale(_ refused: [LeaseToken: [Int64]]) {
        for (lease, mailboxIDs) in refused.sorted(by: { $0.key.tenantID < $1.key.tenantID }) {
            FleetMetrics.leaseFencedWrites("status", count: mailboxIDs.count)
            logger.notice("status rows dropped: the tenant's lease moved to another holder", metadata: [
                "tenant_id": "\(lease.tenantID)", "epoch": "\(lease.epoch)", "rows": "\(mailboxIDs.count)",
            ])
            onLeaseLost(lease)
        }
    }

    private func saveOneByOne(_ updates: [StatusRepository.StatusUpdate], after error: any Error) async {
        logger.warning("status batch failed; writing its rows one by one", metadata: ["error": "\(error)"])
        for (index, update) in updates.enumerated() {
            do {
                dropStale(try await statuses.saveStatus([update]).refused)
            } catch let error as PostgresError where error.isRetryable {
                requeue(status: Array(updates[index...]), error: error)
                return
            } catch {
                FleetMetrics.statusRowDropped()
                logger.error("status row dropped", metadata: ["mailbox_id": "\(update.mailboxID)", "error": "\(error)"])
            }
        }
    }

    private func requeue(status updates: [StatusRepository.StatusUpdate], error: any Error) {
        logger.warning("status flush failed; will retry", metadata: ["error": "\(error)"])
        pending.withLock { p in
            for update in updates where p.status[update.mailboxID] == nil { p.status[update.mailboxID] = update }
        }
    }

    /// Flushes every `interval` until cancelled, then once more.
    func run<C: Clock<Duration>>(every interval: Duration, clock: C) async {
        while (try? await clock.sleep(for: interval)) != nil { await flush() }
        await flush()
    }
}
