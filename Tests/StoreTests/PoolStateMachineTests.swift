import Testing

@testable import Store
import Support

@Suite struct PoolStateMachineTests {
    @Test func createsLazilyUpToCapacityThenQueuesFIFO() {
        var machine = PoolStateMachine(capacity: 2)
        #expect(machine.acquire(1) == .create(0))
        #expect(machine.acquire(2) == .create(1))
        #expect(machine.acquire(3) == .wait)
        #expect(machine.acquire(4) == .wait)
        #expect(machine.release(1) == .lend(1, to: 3))
        #expect(machine.release(0) == .lend(0, to: 4))
        #expect(machine.release(0) == .idle)
        #expect(machine.acquire(5) == .lend(0))
    }

    @Test func cancelledWaiterLeavesQueue() {
        var machine = PoolStateMachine(capacity: 1)
        #expect(machine.acquire(1) == .create(0))
        #expect(machine.acquire(2) == .wait)
        #expect(machine.acquire(3) == .wait)
        let removed = machine.cancel(2)
        let removedAgain = machine.cancel(2)
        #expect(removed)
        #expect(!removedAgain)
        #expect(machine.release(0) == .lend(0, to: 3))
    }

    @Test func idleSlotIsNotStolenFromQueuedWaiters() {
        var machine = PoolStateMachine(capacity: 2)
        #expect(machine.acquire(1) == .create(0))
        #expect(machine.acquire(2) == .create(1))
        #expect(machine.acquire(3) == .wait)
        #expect(machine.release(0) == .lend(0, to: 3))
        #expect(machine.release(0) == .idle)
        #expect(machine.acquire(4) == .lend(0))
    }

    @Test func shutdownFailsWaitersAndClosesOnReturn() {
        var machine = PoolStateMachine(capacity: 2)
        #expect(machine.acquire(1) == .create(0))
        #expect(machine.acquire(2) == .create(1))
        #expect(machine.release(1) == .idle)
        #expect(machine.acquire(3) == .lend(1))
        #expect(machine.acquire(4) == .wait)
        let action = machine.shutdown()
        #expect(action == .init(failWaiters: [4], closeSlots: [], drained: false))
        #expect(machine.acquire(5) == .failShutdown)
        #expect(machine.release(0) == .close(0, drained: false))
        #expect(machine.release(1) == .close(1, drained: true))
    }
}

@Suite struct BackoffTests {
    @Test func exponentialCappedAndJitteredDown() {
        let backoff = Backoff(initial: .milliseconds(100), maximum: .seconds(5), jitter: 0.5)
        #expect(backoff.baseDelay(attempt: 1) == .milliseconds(100))
        #expect(backoff.baseDelay(attempt: 2) == .milliseconds(200))
        #expect(backoff.baseDelay(attempt: 6) == .milliseconds(3200))
        #expect(backoff.baseDelay(attempt: 7) == .seconds(5))
        #expect(backoff.baseDelay(attempt: 10_000) == .seconds(5))
        for attempt in 1...20 {
            let delay = backoff.delay(attempt: attempt)
            #expect(delay <= backoff.baseDelay(attempt: attempt))
            #expect(delay >= backoff.baseDelay(attempt: attempt) / 2)
        }
    }

    @Test func gateWaitsAfterFailureAndResetsOnSuccess() {
        var gate = ReconnectGate()
        var generator = SystemRandomNumberGenerator()
        let backoff = Backoff(initial: .milliseconds(100), maximum: .seconds(5), jitter: 0)
        #expect(gate.delay(now: .seconds(10)) == .zero)
        gate.recordFailure(now: .seconds(10), backoff: backoff, generator: &generator)
        #expect(gate.delay(now: .seconds(10)) == .milliseconds(100))
        gate.recordFailure(now: .seconds(11), backoff: backoff, generator: &generator)
        #expect(gate.delay(now: .seconds(11)) == .milliseconds(200))
        #expect(gate.delay(now: .seconds(12)) == .zero)
        gate.recordSuccess()
        #expect(gate.delay(now: .seconds(11)) == .zero)
    }
}
