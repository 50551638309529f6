import Foundation
import Testing
@testable import Simulator

/// `POST /_sim/restart`: what a server restart looks like to clients, per dialect.
@Suite struct SimRestartTests {
    let mailbox = "user1@tenant1.example"

    @Test func streamsEndWithoutClosedAndExchangeIdsAreGoneForGood() async throws {
        try await SimFixture.with { sim in
            let (id, _) = try await sim.subscribe(mailbox)
            let stream = try await sim.stream(Soap.getStreamingEvents([id]))
            _ = try await stream.readHead()
            #expect(try await stream.message().status == "OK")
            let answer = try await sim.control(.POST, "/_sim/restart")
            #expect(answer["subscriptions_dropped"] as? Int == 1 && answer["streams_ended"] as? Int == 1)
            #expect(answer["restarts"] as? Int == 1)
            // The socket just closes: no Closed, no final chunk.
            #expect(await stream.nextEnvelope() == nil)
            let stats = sim.world.statsSnapshot()
            #expect(stats.restarts == 1 && stats.subscriptions == 0)
            let (fresh, _) = try await sim.subscribe(mailbox)
            #expect(fresh != id)
            let again = try await sim.stream(Soap.getStreamingEvents([id]))
            _ = try await again.readHead()
            let refused = try await again.message()
            #expect(refused.code == "ErrorSubscriptionNotFound" && Soap.errorIds(refused.node) == [id])
            #expect(try await again.message().status == "Closed")
        }
    }

    /// 06 of the capture: after a restart gromox counts from 1 again, and a stored id names
    /// whichever new subscription of the same user got its number.
    @Test func gromoxHandsOutTheSameIdsAgainAndAcceptsStaleOnes() async throws {
        try await SimFixture.with({ $0.dialect = .gromox; $0.itemsPerMailbox = 0 }) { sim in
            let (first, _) = try await sim.subscribe(mailbox)
            let (second, _) = try await sim.subscribe(mailbox)
            #expect([first, second] == ["AQAAAAUAAAA=", "AgAAAAUAAAA="])
            _ = try sim.world.deliver(mailbox: mailbox)  // queued on both, lost with them
            try sim.world.restart()
            #expect(try await sim.subscribe(mailbox).id == first)
            let sentItems = try await sim.subscribe(mailbox, folders: "<t:DistinguishedFolderId Id=\"sentitems\"/>")
            #expect(sentItems.id == second)
            let stream = try await sim.stream(Soap.getStreamingEvents([second], impersonate: mailbox))
            _ = try await stream.readHead()
            #expect(try await stream.message().text == GromoxCaptures.streamOpened)
            _ = try sim.world.deliver(mailbox: mailbox, folder: "inbox")
            _ = try sim.world.deliver(mailbox: mailbox, folder: "sentitems")
            // Nothing queued survived, and the stale id now follows Sent Items, not the inbox.
            let heard = try await stream.message()
            #expect(heard.notifications.map(\.0) == [second] && heard.events.first == "CreatedEvent(Item)")
            let sentFolder = try #require(sim.world.lock.withLock { () -> String? in
                guard let box = sim.world.mailbox(smtp: mailbox), let folder = box.folder(distinguished: "sentitems") else { return nil }
                return sim.world.folderId(box, folder)
            })
            #expect(heard.text.contains("<t:ParentFolderId Id=\"\(sentFolder)\"/>"))
            await stream.close()
            // An id not handed out again is refused as gromox refuses any unknown id.
            let stale = try await sim.stream(Soap.getStreamingEvents(["BwAAAAUAAAA="], impersonate: mailbox))
            _ = try await stale.readHead()
            let refused = try await stale.message()
            #expect(refused.code == "ErrorInvalidSubscription" && refused.status == "Closed")
            await stale.close()
        }
    }

    @Test func oneTenantCanRestartAlone() async throws {
        try await SimFixture.with({ $0.dialect = .gromox }) { sim in
            _ = try await sim.subscribe(mailbox)
            _ = try await sim.subscribe("user1@tenant2.example", tenant: 1)
            let result = try sim.world.restart(tenant: "tenant1")
            #expect(result == SimWorld.RestartResult(subscriptionsDropped: 1, streamsEnded: 0))
            #expect(sim.world.statsSnapshot().subscriptions == 1)
            #expect(try await sim.subscribe(mailbox).id == "AQAAAAUAAAA=")
            #expect(try await sim.subscribe("user1@tenant2.example", tenant: 1).id == "AgAAAAUAAAA=")
            #expect(throws: SimError.self) { try sim.world.restart(tenant: "nosuch") }
        }
    }
}
