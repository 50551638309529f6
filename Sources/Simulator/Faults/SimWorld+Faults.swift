/// Fault injection as library calls (the control API's `/_sim/faults` uses the same).
extension SimWorld {
    /// Injects a fault and returns its id. One-shot kinds act now (or, with `rate`, at random
    /// until cleared); the others stay active until `clearFaults()` (throttle: for `seconds`).
    @discardableResult
    public func injectFault(_ fault: SimFault) throws(SimError) -> Int {
        if fault.kind == .blockTenant, case .tenant(let name) = fault.scope,
           lock.withLock({ tenantByName[name] }) == nil {
            throw SimError(.unknownTenant, "no tenant \(name)")
        }
        if fault.kind == .invalidateSyncStates, case .identity = fault.scope {
            throw SimError(.invalidArgument, "invalidate_sync_states takes a tenant, a mailbox or everything")
        }
        let id: Int = lock.withLock {
            let id = faultBook.nextId
            faultBook.nextId += 1
            faultBook.injected[fault.kind.rawValue, default: 0] += 1
            if !fault.kind.isOneShot || fault.rate != nil {
                faultBook.active[id] = FaultBook.Active(id: id, fault: fault, injectedAt: clock.now())
            }
            if fault.kind.isOneShot && fault.rate == nil { applyOneShot(fault, onlyOne: false) }
            if fault.kind == .endStreams { endOpenStreams(fault) }
            return id
        }
        if let rate = fault.rate, rate > 0 { schedule(id: id, fault: fault, rate: rate) }
        return id
    }

    /// Active (lasting or scheduled) faults by id.
    public func activeFaults() -> [Int: SimFault] {
        lock.withLock {
            let now = clock.now()
            return faultBook.active.filter { !isExpired($0.value, now: now) }.mapValues(\.fault)
        }
    }

    /// Removes every fault (or one by id), stops random schedules and releases held responses.
    public func clearFaults(id: Int? = nil) {
        let tasks: [Task<Void, Never>] = lock.withLock {
            if let id {
                faultBook.active[id] = nil
                return [faultTasks.removeValue(forKey: id)].compactMap { $0 }
            }
            faultBook.active = [:]
            faultBook.invalidSyncStates = []
            defer { faultTasks = [:] }
            return Array(faultTasks.values)
        }
        tasks.forEach { $0.cancel() }
        releaseHeld(faultId: id)
    }

    /// Responses held by `hold_sync_page` faults right now (explicit readiness for tests).
    public func heldRequests() -> [SimHeldRequest] {
        lock.withLock { faultBook.held.values.filter { !$0.released }.map(\.info).sorted { $0.id < $1.id } }
    }

    /// Returns once at least `count` responses are being held.
    public func waitUntilHeld(count: Int = 1) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let ready: Bool = lock.withLock {
                if faultBook.held.values.filter({ !$0.released }).count >= count { return true }
                faultBook.heldWaiters.append((count, continuation))
                return false
            }
            if ready { continuation.resume() }
        }
    }

    /// Returns once faults of `kind` have acted at least `count` times in all (explicit readiness:
    /// e.g. a slow response is waiting, a random schedule fired).
    public func waitForFaultEffect(_ kind: SimFault.Kind, count: Int = 1) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let ready: Bool = lock.withLock {
                if faultBook.effects[kind.rawValue, default: 0] >= count { return true }
                faultBook.effectWaiters.append((kind.rawValue, count, continuation))
                return false
            }
            if ready { continuation.resume() }
        }
    }

    /// Non-streaming requests of `identity` in flight (slow and held ones included).
    public func requestsInFlight(identity: String) -> Int {
        lock.withLock { throttleBook.inFlight[identity] ?? 0 }
    }

    /// Lets held responses go (all, or those of one fault); returns how many were released.
    @discardableResult
    public func releaseHeld(faultId: Int? = nil) -> Int {
        // A held response whose writer has not started waiting yet is only marked: its wait
        // then returns at once.
        let (released, continuations): (Int, [CheckedContinuation<Void, Never>]) = lock.withLock {
            var released = 0
            var result: [CheckedContinuation<Void, Never>] = []
            for (key, held) in faultBook.held where !held.released && (faultId == nil || held.info.faultId == faultId) {
                released += 1
                faultBook.held[key]?.released = true
                if let continuation = held.continuation {
                    result.append(continuation)
                    faultBook.held[key] = nil
                }
            }
            return (released, result)
        }
        continuations.forEach { $0.resume() }
        return released
    }

    func isExpired(_ active: FaultBook.Active, now: Duration) -> Bool {
        active.fault.kind == .throttle && now >= active.injectedAt + .milliseconds(Int64(active.fault.seconds * 1000))
    }

    /// Random schedule: exponential gaps on the injected clock, one random target per firing.
    private func schedule(id: Int, fault: SimFault, rate: Double) {
        let task = Task { [self] in
            var at = clock.now()
            while !Task.isCancelled {
                let gap = lock.withLock { -log(max(1e-9, 1 - Double.random(in: 0..<1, using: &random))) / rate }
                at += .milliseconds(Int64(gap * 1000))
                do { try await clock.sleep(untilOffset: at) } catch { return }
                if Task.isCancelled { return }
                lock.withLock {
                    guard faultBook.active[id] != nil else { return }
                    applyOneShot(fault, onlyOne: true)
                }
            }
        }
        lock.withLock { faultTasks[id] = task }
    }
}

import Foundation
