import Testing
@testable import Fleet
import TestSupport

@Suite struct IdentityBudgetTests {
    @Test func concurrencyLimitHoldsAndReleasesWakeWaiters() async throws {
        let clock = ManualClock()
        let budget = IdentityBudget(maxConcurrent: 2, rate: 1000, clock: clock)
        let a = try await budget.acquire(.normal, mailbox: "a")
        _ = try await budget.acquire(.normal, mailbox: "b")
        let third = Task { try await budget.acquire(.normal, mailbox: "c") }
        while await budget.inFlight < 2 { await Task.yield() }
        await Task.yield()
        #expect(await budget.inFlight == 2)
        await budget.release(a, outcome: .success)
        _ = try await third.value
        #expect(await budget.inFlight == 2)
    }

    @Test func exceededConnectionCountHalvesAndSuccessesRestore() async throws {
        let clock = ManualClock()
        let budget = IdentityBudget(maxConcurrent: 8, rate: 1000, clock: clock)
        let p = try await budget.acquire(.normal, mailbox: "m")
        await budget.release(p, outcome: .tooManyConcurrent)
        #expect(await budget.limit == 4)
        let q = try await budget.acquire(.normal, mailbox: "m")
        await budget.release(q, outcome: .tooManyConcurrent)
        #expect(await budget.limit == 2)
        for _ in 0..<2 {
            let r = try await budget.acquire(.normal, mailbox: "m")
            await budget.release(r, outcome: .success)
        }
        #expect(await budget.limit == 3)  // additive increase after `limit` successes
    }

    @Test func syncCallsPerMailboxAreCappedButOtherMailboxesProceed() async throws {
        let clock = ManualClock()
        let budget = IdentityBudget(maxConcurrent: 10, rate: 1000, maxSyncPerMailbox: 1, clock: clock)
        let first = try await budget.acquire(.sync, mailbox: "a")
        let blocked = Task { try await budget.acquire(.sync, mailbox: "a") }
        _ = try await budget.acquire(.sync, mailbox: "b")  // not blocked by a's sync budget
        #expect(await budget.inFlight == 2)
        await budget.release(first, outcome: .success)
        _ = try await blocked.value
    }

    @Test func advisedBackOffPausesOnlyTheNamedScope() async throws {
        let clock = ManualClock()
        let budget = IdentityBudget(maxConcurrent: 10, rate: 1000, clock: clock)
        await budget.pause(.mailboxSync("a"), for: .seconds(5))
        _ = try await budget.acquire(.normal, mailbox: "a")  // normal calls to a still pass
        _ = try await budget.acquire(.sync, mailbox: "b")
        let sync = Task { try await budget.acquire(.sync, mailbox: "a") }
        #expect(await clock.waitForSleepers(1))
        clock.advance(by: .seconds(4))
        #expect(clock.sleeperCount == 1)
        clock.advance(by: .seconds(1))
        _ = try await sync.value
    }

    @Test func identityPauseBlocksEverything() async throws {
        let clock = ManualClock()
        let budget = IdentityBudget(maxConcurrent: 10, rate: 1000, clock: clock)
        await budget.pause(.identity, for: .seconds(30))
        let call = Task { try await budget.acquire(.normal, mailbox: "x") }
        let open = Task { try await budget.acquireStreamOpen(anchor: "y") }
        #expect(await clock.waitForSleepers(2))
        clock.advance(by: .seconds(29))
        #expect(clock.sleeperCount == 2)
        clock.advance(by: .seconds(1))
        _ = try await call.value
        try await open.value
    }

    /// A budget built for a tenant restarted with new settings goes on honouring what the server
    /// told the old one: pauses still in force (the later deadline wins) and the reduced limit.
    @Test func aReplacingBudgetInheritsPausesInForceAndTheReducedLimit() async throws {
        let clock = ManualClock()
        let old = IdentityBudget(maxConcurrent: 8, rate: 1000, clock: clock)
        let p = try await old.acquire(.listen, mailbox: "m")
        await old.release(p, outcome: .tooManyConcurrent)  // the limit halves to 4
        await old.pause(.identity, for: .seconds(10))
        clock.advance(by: .seconds(2))

        let new = IdentityBudget(maxConcurrent: 20, rate: 1000, clock: clock)
        await new.pause(.identity, for: .seconds(3))  // shorter than the inherited 8 s: that one wins
        await new.pause(.mailboxSync("s"), for: .seconds(60))
        await new.inherit(await old.inheritance())
        #expect(await new.limit == 4)
        let call = Task { try await new.acquire(.normal, mailbox: "x") }
        #expect(await clock.waitForSleepers(1))
        clock.advance(by: .seconds(7))
        #expect(clock.sleeperCount == 1, "8 s of the identity's 10 s pause are left")
        clock.advance(by: .seconds(1))
        _ = try await call.value
        // Its own later pause stays: 52 of its 60 s are left.
        let sync = Task { try await new.acquire(.sync, mailbox: "s") }
        #expect(await clock.waitForSleepers(1))
        clock.advance(by: .seconds(51))
        #expect(clock.sleeperCount == 1)
        clock.advance(by: .seconds(1))
        _ = try await sync.value
    }

    @Test func streamOpensGoOneAtATimeAndWaitOutABackOffAdvisedMeanwhile() async throws {
        let clock = ManualClock()
        let budget = IdentityBudget(maxConcurrent: 10, rate: 1000, clock: clock)
        try await budget.acquireStreamOpen(anchor: "a")
        let second = Task { try await budget.acquireStreamOpen(anchor: "b") }
        // The first open is refused with an advised back-off before it releases its slot.
        await budget.pause(.identity, for: .seconds(3))
        await budget.releaseStreamOpen()
        // The second open now waits for the back-off, not for nothing.
        #expect(await clock.waitForSleepers(1))
        clock.advance(by: .milliseconds(2999))
        #expect(clock.sleeperCount == 1)
        clock.advance(by: .milliseconds(1))
        try await second.value
        // And while it holds the slot, a third waits for its release.
        let third = Task { try await budget.acquireStreamOpen(anchor: "c") }
        await budget.releaseStreamOpen()
        try await third.value
    }

    @Test func aCancelledStreamOpenWaiterLeavesTheQueue() async throws {
        let clock = ManualClock()
        let budget = IdentityBudget(maxConcurrent: 10, rate: 1000, clock: clock)
        try await budget.acquireStreamOpen(anchor: "a")
        let waiter = Task { try await budget.acquireStreamOpen(anchor: "b") }
        waiter.cancel()
        await #expect(throws: CancellationError.self) { try await waiter.value }
        await budget.releaseStreamOpen()
        try await budget.acquireStreamOpen(anchor: "c")  // the slot is free again
    }

    @Test func streamOpensSpendTheRequestRateLikeEveryCall() async throws {
        // Before, stream opens skipped the rate: a server that ended every stream at once could
        // be sent opens far faster than the identity's request rate.
        let clock = ManualClock()
        let budget = IdentityBudget(maxConcurrent: 100, rate: 1, clock: clock)
        try await budget.acquireStreamOpen(anchor: "a")
        await budget.releaseStreamOpen()
        let call = Task { try await budget.acquire(.normal, mailbox: "m") }
        #expect(await clock.waitForSleepers(1), "the open took the only token")
        clock.advance(by: .seconds(1))
        _ = try await call.value
        let open = Task { try await budget.acquireStreamOpen(anchor: "b") }
        #expect(await clock.waitForSleepers(1), "and the call took the next one")
        clock.advance(by: .seconds(1))
        try await open.value
    }

    @Test func subscribesGoBeforeSyncsWhenTheRateIsShort() async throws {
        // After a server restart every mailbox resubscribes and then catches up: the subscribes
        // first, so every mailbox hears again as early as the rate allows.
        let clock = ManualClock()
        let budget = IdentityBudget(maxConcurrent: 100, rate: 1, clock: clock)
        _ = try await budget.acquire(.normal, mailbox: "m")  // the bucket is empty
        let sync = Task { try await budget.acquire(.sync, mailbox: "a") }
        #expect(await clock.waitForSleepers(1))
        let subscribe = Task { try await budget.acquire(.listen, mailbox: "b") }
        #expect(await clock.waitForSleepers(2))
        clock.advance(by: .seconds(1))
        _ = try await subscribe.value
        #expect(await clock.waitForSleepers(1), "the sync still waits: the token went to the subscribe")
        clock.advance(by: .seconds(1))
        _ = try await sync.value
    }

    @Test func rateLimitSpacesRequests() async throws {
        let clock = ManualClock()
        let budget = IdentityBudget(maxConcurrent: 100, rate: 2, clock: clock)
        for _ in 0..<2 { _ = try await budget.acquire(.normal, mailbox: "m") }  // the bucket holds 2
        let third = Task { try await budget.acquire(.normal, mailbox: "m") }
        #expect(await clock.waitForSleepers(1))
        clock.advance(by: .milliseconds(500))
        _ = try await third.value
    }

    @Test func cancelledWaiterLeavesTheQueue() async throws {
        let clock = ManualClock()
        let budget = IdentityBudget(maxConcurrent: 1, rate: 1000, clock: clock)
        let held = try await budget.acquire(.normal, mailbox: "m")
        let waiter = Task { try await budget.acquire(.normal, mailbox: "m") }
        await Task.yield()
        waiter.cancel()
        await #expect(throws: CancellationError.self) { try await waiter.value }
        await budget.release(held, outcome: .success)
        #expect(await budget.inFlight == 0)
    }
}
