import Foundation
import Testing
@testable import Simulator

/// Server-side request counters per mailbox, tenant and streaming identity (`/_sim/stats`).
@Suite struct RequestCounterTests {
    let user1 = "user1@tenant1.example"
    let user3 = "user3@tenant1.example"  // on user1's mailbox server

    @Test func requestsCountForTheMailboxTheyName() async throws {
        try await SimFixture.with { sim in
            _ = try await sim.ews(Soap.syncFolderItems(user1))
            _ = try await sim.ews(Soap.syncFolderItems(user1))
            _ = try await sim.ews(Soap.syncFolderItems(folder: Soap.delegateFolder(user3)))
            let item = try sim.world.deliver(mailbox: user3)[0]
            _ = try await sim.ews(Soap.getItem([item]))
            _ = try await sim.ews(Soap.syncFolderItems(user1), auth: .none)
            let stats = sim.world.statsSnapshot()
            #expect(stats.requests(mailbox: user1, operation: "SyncFolderItems") == 2)
            #expect(stats.requests(mailbox: user3, operation: "SyncFolderItems") == 1)
            #expect(stats.requests(mailbox: user3, operation: "GetItem") == 1)
            #expect(stats.requests(mailbox: "User3@tenant1.example") == 2)
            #expect(stats.requests(mailbox: "user2@tenant1.example") == 0)
            #expect(stats.requests(tenant: "tenant1", operation: "SyncFolderItems") == 3)
            #expect(stats.requests(tenant: "tenant1", operation: "Unauthorized") == 1)
            #expect(stats.requests(tenant: "tenant1") == 5)
            #expect(stats.requests(tenant: "tenant2") == 0)
        }
    }

    @Test func aStreamCountsOnceForEveryMailboxItNames() async throws {
        try await SimFixture.with { sim in
            let (a, _) = try await sim.subscribe(user1)
            let (b, _) = try await sim.subscribe(user1)
            let (c, _) = try await sim.subscribe(user3)
            let stream = try await sim.stream(Soap.getStreamingEvents([a, b, c, "unknown"]))
            _ = try await stream.readHead()
            _ = try await stream.message()
            let stats = sim.world.statsSnapshot()
            #expect(stats.requests(mailbox: user1, operation: "GetStreamingEvents") == 1)
            #expect(stats.requests(mailbox: user3, operation: "GetStreamingEvents") == 1)
            #expect(stats.requests(mailbox: user1, operation: "Subscribe") == 2)
            #expect(stats.streamOpens(identity: "svc:tenant1") == 1)
            #expect(stats.streamOpens(identity: "user:\(user1)") == 0)
            await stream.close()
        }
    }

    /// The counters are the server's: a request refused by throttling still counts.
    @Test func refusedRequestsCountToo() async throws {
        try await SimFixture.with { sim in
            try sim.world.injectFault(SimFault(.throttle, scope: .mailbox(user1)))
            #expect(Soap.faultCode(try await sim.ews(Soap.syncFolderItems(user1)).body) == "ErrorServerBusy")
            #expect(sim.world.statsSnapshot().requests(mailbox: user1, operation: "SyncFolderItems") == 1)
            try sim.world.setAccess(mailbox: user3, impersonation: false)
            _ = try await sim.ews(Soap.syncFolderItems(user3))
            #expect(sim.world.statsSnapshot().requests(mailbox: user3, operation: "SyncFolderItems") == 1)
        }
    }

    @Test func statsJSONCarriesTheCounters() async throws {
        try await SimFixture.with({ $0.dialect = .gromox }) { sim in
            let (id, _) = try await sim.subscribe(user1)
            let stream = try await sim.stream(Soap.getStreamingEvents([id], impersonate: user1))
            _ = try await stream.readHead()
            _ = try await stream.message()
            let stats = try await sim.control(.GET, "/_sim/stats")
            let byMailbox = try #require(stats["requests_by_mailbox"] as? [String: [String: Int]])
            #expect(byMailbox[user1] == ["Subscribe": 1, "GetStreamingEvents": 1])
            let byTenant = try #require(stats["requests_by_tenant"] as? [String: [String: Int]])
            #expect(byTenant["tenant1"] == ["Subscribe": 1, "GetStreamingEvents": 1])
            #expect((stats["stream_opens_by_identity"] as? [String: Int]) == ["svc:tenant1": 1])
            #expect(stats["restarts"] as? Int == 0)
            await stream.close()
        }
    }
}
