import Foundation
import Logging
import Store
import Synchronization

/// Collects mailbox status changes and stream liveness from thousands of actors and writes them in
/// one statement per kind every `interval`, so status reporting never becomes the fleet's bottleneck.
/// Only the newest state of each mailbox is kept between flushes.
final class StatusBatcher: Sendable {
    private struct Pending {
        var status: [Int64: FleetStateRepository.StatusUpdate] = [:]
        var heartbeats: Set<Int64> = []
        var events: Set<Int64> = []
    }

    private let pending = Mutex(Pending())
    private let repository: FleetStateRepository
    private let logger: Logger

    init(pool: PostgresPool, logger: Logger) {
        repository = FleetStateRepository(pool: pool)
        self.logger = logger
    }

    func record(_ update: FleetStateRepository.StatusUpdate) {
        pending.withLock { $0.status[update.mailboxID] = update }
    }

    func recordActivity(heartbeat: [Int64], events: [Int64]) {
        pending.withLock {
            $0.heartbeats.formUnion(heartbeat)
            $0.events.formUnion(events)
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
            try await repository.saveStatus(updates)
        } catch let error as PostgresError where error.isRetryable {
            requeue(status: updates, error: error)
        } catch {
            await saveOneByOne(updates, after: error)
        }
        do {
            try await repository.touchSubscriptions(heartbeat: Array(batch.heartbeats), events: Array(batch.events))
        } catch let error as PostgresError where !error.isRetryable {
            logger.warning("liveness update failed; dropped", metadata: ["error": "\(error)"])
        } catch {
            logger.warning("liveness update failed; will retry", metadata: ["error": "\(error)"])
            pending.withLock { p in
                p.heartbeats.formUnion(batch.heartbeats)
                p.events.formUnion(batch.events)
            }
        }
    }

    private func saveOneByOne(_ updates: [FleetStateRepository.StatusUpdate], after error: any Error) async {
        logger.warning("status batch failed; writing its rows one by one", metadata: ["error": "\(error)"])
        for (index, update) in updates.enumerated() {
            do {
                try await repository.saveStatus([update])
            } catch let error as PostgresError where error.isRetryable {
                requeue(status: Array(updates[index...]), error: error)
                return
            } catch {
                FleetMetrics.statusRowDropped()
                logger.error("status row dropped", metadata: ["mailbox_id": "\(update.mailboxID)", "error": "\(error)"])
            }
        }
    }

    private func requeue(status updates: [FleetStateRepository.StatusUpdate], error: any Error) {
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
