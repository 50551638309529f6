/// The pool's lending rules as a pure state machine (no I/O, no locks): the pool executes the
/// actions it returns while holding its mutex.
///
/// - capacity is fixed; slots (thread + lazily opened connection) are created on demand;
/// - a free slot is lent to the longest-waiting borrower (FIFO);
/// - a borrower cancelled while waiting leaves the queue;
/// - after shutdown, waiters fail and every slot is closed once it is returned.
struct PoolStateMachine: Sendable {
    typealias SlotID = Int
    typealias WaiterID = Int

    enum AcquireAction: Equatable {
        /// Lend this existing idle slot.
        case lend(SlotID)
        /// Create a new slot with this id and lend it.
        case create(SlotID)
        /// No capacity: wait in the queue.
        case wait
        case failShutdown
    }

    enum ReleaseAction: Equatable {
        /// Hand the slot to this waiter (who was removed from the queue).
        case lend(SlotID, to: WaiterID)
        case idle
        /// Pool is shutting down: close the slot; `drained` when it was the last one.
        case close(SlotID, drained: Bool)
    }

    struct ShutdownAction: Equatable {
        var failWaiters: [WaiterID]
        var closeSlots: [SlotID]
        var drained: Bool
    }

    let capacity: Int
    private(set) var idle: [SlotID] = []
    private(set) var leased: Set<SlotID> = []
    private(set) var waiters: [WaiterID] = []
    private(set) var isShutdown = false
    private var created = 0

    init(capacity: Int) { self.capacity = max(1, capacity) }

    mutating func acquire(_ waiter: WaiterID) -> AcquireAction {
        if isShutdown { return .failShutdown }
        // Waiters already queued go first, even if a slot could be created now.
        if waiters.isEmpty, let slot = idle.popLast() {
            leased.insert(slot)
            return .lend(slot)
        }
        if waiters.isEmpty, created < capacity {
            let slot = created
            created += 1
            leased.insert(slot)
            return .create(slot)
        }
        waiters.append(waiter)
        return .wait
    }

    /// Removes a waiter (cancelled); false if it was already served or never queued.
    mutating func cancel(_ waiter: WaiterID) -> Bool {
        guard let index = waiters.firstIndex(of: waiter) else { return false }
        waiters.remove(at: index)
        return true
    }

    mutating func release(_ slot: SlotID) -> ReleaseAction {
        precondition(leased.contains(slot), "released a slot that is not leased")
        if isShutdown {
            leased.remove(slot)
            return .close(slot, drained: leased.isEmpty)
        }
        if !waiters.isEmpty {
            return .lend(slot, to: waiters.removeFirst())
        }
        leased.remove(slot)
        idle.append(slot)
        return .idle
    }

    mutating func shutdown() -> ShutdownAction {
        guard !isShutdown else { return ShutdownAction(failWaiters: [], closeSlots: [], drained: leased.isEmpty) }
        isShutdown = true
        let action = ShutdownAction(failWaiters: waiters, closeSlots: idle, drained: leased.isEmpty)
        waiters = []
        idle = []
        return action
    }
}
