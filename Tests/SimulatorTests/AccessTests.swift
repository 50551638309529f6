import Foundation
import Testing
@testable import Simulator

/// Rights taken away through `/_sim/access` (and `SimWorld.setAccess`), in both dialects.
@Suite struct AccessTests {
    let owner = "user2@tenant1.example"

    func code(_ xml: String) throws -> String { Soap.code(try Soap.messages(xml)[0]) }
    func text(_ xml: String) throws -> String? { try Soap.messages(xml)[0].child(NS.messages, "MessageText")?.trimmedText }

    func getFolder(_ folder: String, impersonate: String? = nil) -> String {
        Soap.envelope("<m:GetFolder><m:FolderShape><t:BaseShape>Default</t:BaseShape></m:FolderShape><m:FolderIds>\(folder)</m:FolderIds></m:GetFolder>",
                      impersonate: impersonate)
    }

    @Test func exchangeRefusesFolderAndItemOperationsWithoutDelegateRights() async throws {
        try await SimFixture.with { sim in
            let item = try sim.world.deliver(mailbox: owner)[0]
            let folder = Soap.delegateFolder(owner)
            let subscribe = Soap.subscribeWithoutImpersonation(folders: folder)
            // By default the service account has full access.
            #expect(try code(try await sim.ews(Soap.syncFolderItems(folder: folder)).body) == "NoError")
            #expect(try code(try await sim.ews(Soap.getItem([item])).body) == "NoError")
            try sim.world.setAccess(mailbox: owner, delegate: false)
            for request in [Soap.syncFolderItems(folder: folder), getFolder(folder), Soap.getItem([item]), subscribe] {
                let body = try await sim.ews(request).body
                #expect(try code(body) == "ErrorAccessDenied")
                #expect(try text(body) == "Access is denied. Check credentials and try again.")
            }
            // Impersonation is a different right, still held.
            #expect(try code(try await sim.ews(Soap.syncFolderItems(owner)).body) == "NoError")
            sim.world.resetAccess()
            #expect(try code(try await sim.ews(Soap.syncFolderItems(folder: folder)).body) == "NoError")
        }
    }

    @Test func withoutImpersonationRightsExchangeFaultsAndGromoxSaysSoInItsWords() async throws {
        try await SimFixture.with { sim in
            try sim.world.setAccess(mailbox: owner, impersonation: false)
            let exchange = try await sim.ews(Soap.syncFolderItems(owner))
            #expect(exchange.status == 500)
            #expect(Soap.faultCode(exchange.body) == "ErrorImpersonateUserDenied")
            try sim.world.setDialect(.gromox, tenant: "tenant1")
            let gromox = try await sim.ews(Soap.syncFolderItems(owner))
            #expect(gromox.status == 200)
            #expect(gromox.body == GromoxCaptures.impersonateUserDenied)
            // Delegate access is untouched.
            #expect(try code(try await sim.ews(Soap.syncFolderItems(folder: Soap.delegateFolder(owner))).body) == "NoError")
        }
    }

    /// gromox subscribes without looking at rights; the subscription exists and hears nothing.
    @Test func gromoxSubscribesAnywayButRefusesTheSync() async throws {
        try await SimFixture.with({ $0.dialect = .gromox }) { sim in
            try sim.world.setAccess(mailbox: owner, delegate: false)
            let folder = Soap.delegateFolder(owner)
            // 05i of the capture, byte for byte.
            #expect(try await sim.ews(Soap.syncFolderItems(folder: folder)).body == GromoxCaptures.syncAccessDenied)
            let denied = try await sim.ews(getFolder(folder)).body
            #expect(try text(denied) == "E-3136: cannot access target folder")
            #expect(denied.contains("<m:DescriptiveLinkKey>0</m:DescriptiveLinkKey><m:Folders/></m:GetFolderResponseMessage>"))
            let id = try #require(Soap.subscriptionId(try await sim.ews(Soap.subscribeWithoutImpersonation(folders: folder)).body))
            let stream = try await sim.stream(Soap.getStreamingEvents([id]))
            _ = try await stream.readHead()
            #expect(try await stream.message().status == "OK")
            _ = try sim.world.deliver(mailbox: owner)
            await waitForSleeper(sim.clock)
            sim.clock.advance(by: .seconds(45))
            // The tick after the delivery: a StatusEvent, no event.
            let tick = try await stream.message()
            #expect(tick.text.contains("<t:StatusEvent/>") && tick.events == ["StatusEvent()"])
            await stream.close()
        }
    }

    @Test func aRuleCanGrantOneIdentityDelegateAccess() async throws {
        try await SimFixture.with { sim in
            let reader = "user1@tenant1.example"
            let folder = Soap.delegateFolder(owner)
            let sync = Soap.syncFolderItems(folder: folder)
            #expect(try code(try await sim.ews(sync, auth: .user(reader)).body) == "ErrorAccessDenied")
            try sim.world.setAccess(mailbox: owner, identity: "user:\(reader)", delegate: true)
            #expect(try code(try await sim.ews(sync, auth: .user(reader)).body) == "NoError")
            // Everyone else keeps the defaults; the mailbox's own user never loses its mailbox.
            try sim.world.setAccess(mailbox: owner, delegate: false)
            #expect(try code(try await sim.ews(sync).body) == "ErrorAccessDenied")
            #expect(try code(try await sim.ews(sync, auth: .user(reader)).body) == "NoError")
            #expect(try code(try await sim.ews(sync, auth: .user(owner)).body) == "NoError")
        }
    }

    @Test func theControlAPISetsListsAndResetsRules() async throws {
        try await SimFixture.with { sim in
            let set = try await sim.control(.POST, "/_sim/access", json: #"{"mailbox": "User2@tenant1.example", "delegate": false}"#)
            let rules = try #require(set["rules"] as? [[String: Any]])
            #expect(rules.count == 1)
            #expect(rules[0]["mailbox"] as? String == owner && rules[0]["identity"] as? String == "*")
            #expect(rules[0]["delegate"] as? Bool == false && rules[0]["impersonation"] == nil)
            _ = try await sim.control(.POST, "/_sim/access", json: #"{"mailbox": "user2@tenant1.example", "impersonation": false}"#)
            let listed = try await sim.control(.GET, "/_sim/access")
            let merged = try #require((listed["rules"] as? [[String: Any]])?.first)
            #expect(merged["delegate"] as? Bool == false && merged["impersonation"] as? Bool == false)
            #expect(Soap.faultCode(try await sim.ews(Soap.syncFolderItems(owner)).body) == "ErrorImpersonateUserDenied")
            let bad = try await RawHTTP.send(port: sim.port, method: .POST, path: "/_sim/access",
                                             headers: ["Content-Type": "application/json"], body: #"{"mailbox": "user2@tenant1.example"}"#)
            #expect(bad.status == 400)
            let unknown = try await RawHTTP.send(port: sim.port, method: .POST, path: "/_sim/access",
                                                 headers: ["Content-Type": "application/json"], body: #"{"mailbox": "x@y", "delegate": false}"#)
            #expect(unknown.status == 404)
            _ = try await sim.control(.DELETE, "/_sim/access?mailbox=user2@tenant1.example")
            #expect((try await sim.control(.GET, "/_sim/access")["rules"] as? [Any])?.isEmpty == true)
            #expect(try code(try await sim.ews(Soap.syncFolderItems(owner)).body) == "NoError")
        }
    }
}
