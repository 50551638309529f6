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

    /// Writes what has accumulated. On failure the batch is put back (newer entries win), so a
    /// database outage delays status, never loses the latest state.
    func flush() async {
        let batch = pending.withLock { p -> Pending in
            defer { p = Pending() }
            return p
        }
        do {
            try await repository.saveStatus(batch.status.values.sorted { $0.mailboxID < $1.mailboxID })
            try await repository.touchSubscriptions(heartbeat: Array(batch.heartbeats), events: Array(batch.events))
        } catch {
            logger.warning("status flush failed; will retry", metadata: ["error": "\(error)"])
            pending.withLock { p in
                p.status.merge(batch.status) { newer, _ in newer }
                p.heartbeats.formUnion(batch.heartbeats)
                p.events.formUnion(batch.events)
            }
        }
    }

    /// Flushes every `interval` until cancelled, then once more.
    func run<C: Clock<Duration>>(every interval: Duration, clock: C) async {
        while (try? await clock.sleep(for: interval)) != nil { await flush() }
        await flush()
    }
}
