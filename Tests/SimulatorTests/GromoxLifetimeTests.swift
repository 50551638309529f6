import Foundation
import Testing
@testable import Simulator

/// gromox's timing: ticks counted from the last message, queued events held for the first
/// wake-up, 5-minute subscriptions, and its own 401.
@Suite struct GromoxLifetimeTests {
    let mailbox = "user1@tenant1.example"

    func open(_ sim: SimFixture, _ id: String, minutes: Int = 30) async throws -> RawStream {
        let stream = try await sim.stream(Soap.getStreamingEvents([id], minutes: minutes, impersonate: mailbox))
        _ = try await stream.readHead()
        return stream
    }

    @Test func theTickComesAnIntervalAfterTheLastMessage() async throws {
        try await SimFixture.with({ $0.dialect = .gromox }) { sim in
            let (id, _) = try await sim.subscribe(mailbox)
            let stream = try await open(sim, id)
            _ = try await stream.message()
            await waitForSleeper(sim.clock)
            sim.clock.advance(by: .seconds(30))
            _ = try sim.world.deliver(mailbox: mailbox)
            #expect(try await stream.message().events.count == 3)
            // At 45 s nothing: the message at 30 s moved the tick to 75 s. (Once the timer sleeps
            // again it has decided; a tick would come before the next delivery's events.)
            await waitForSleeper(sim.clock)
            sim.clock.advance(by: .seconds(15))
            await waitForSleeper(sim.clock)
            _ = try sim.world.deliver(mailbox: mailbox)
            #expect(try await stream.message().events.count == 3)
            await waitForSleeper(sim.clock)
            sim.clock.advance(by: .seconds(45))  // 90 s: an interval after the message at 45 s
            let tick = try await stream.message()
            #expect(tick.events == ["StatusEvent()"])
            #expect(sim.world.statsSnapshot().heartbeats == 1)
            await stream.close()
        }
    }

    /// 09c of the capture: what queued while detached comes at the first wake-up, not at connect.
    @Test func queuedEventsWaitForTheFirstWakeUp() async throws {
        try await SimFixture.with({ $0.dialect = .gromox; $0.itemsPerMailbox = 0 }) { sim in
            let (id, _) = try await sim.subscribe(mailbox)
            _ = try sim.world.deliver(mailbox: mailbox)
            let stream = try await open(sim, id)
            let opened = try await stream.message()
            #expect(opened.text.contains("<m:Notifications/>"))
            // Connected, and the three events are still the subscription's, not the stream's.
            let held = sim.world.lock.withLock { sim.world.subscriptions[Subscription.Key(tenant: 0, id: id)]?.queue.count }
            #expect(held == 3)
            await waitForSleeper(sim.clock)
            sim.clock.advance(by: .seconds(45))
            let wake = try await stream.message()
            #expect(wake.events == ["CreatedEvent(Item)", "ModifiedEvent(Folder)", "NewMailEvent(Item)"])
            #expect(!wake.text.contains("StatusEvent"))
            // A new event wakes it too, and brings what was queued before it.
            await stream.close()
            await waitUntilDetached(sim)
            _ = try sim.world.deliver(mailbox: mailbox)
            let again = try await open(sim, id)
            _ = try await again.message()
            _ = try sim.world.deliver(mailbox: mailbox)
            #expect(try await again.message().events.count == 6)
            await again.close()
        }
    }

    /// 09a/09b of the capture: 5 minutes without use and the id is invalid.
    @Test func subscriptionsLiveFiveMinutesFromTheirLastUse() async throws {
        try await SimFixture.with({ $0.dialect = .gromox }) { sim in
            let (unused, _) = try await sim.subscribe(mailbox)
            let (used, _) = try await sim.subscribe(mailbox)
            sim.clock.advance(by: .seconds(240))
            let stream = try await open(sim, used, minutes: 1)
            _ = try await stream.message()
            await stream.close()
            await waitUntilDetached(sim)
            sim.clock.advance(by: .seconds(120))  // unused: 360 s old; used: 120 s since its last use
            let late = try await open(sim, unused)
            #expect(try await late.message().code == "ErrorInvalidSubscription")
            await late.close()
            let alive = try await open(sim, used)
            #expect(try await alive.message().status == "OK")
            await alive.close()
        }
    }

    /// 05f of the capture.
    @Test func wrongCredentialsGetGromoxsPlain401() async throws {
        try await SimFixture.with({ $0.dialect = .gromox }) { sim in
            let response = try await sim.ews(Soap.syncFolderItems(mailbox), auth: .password("wrong"))
            #expect(response.status == 401)
            #expect(response.body == "Unauthorized\r\n")
            #expect(response.headers["WWW-Authenticate"] == ["Basic realm=\"msrpc realm\", charset=\"utf-8\""])
        }
    }
}
