import Foundation
import NIOHTTP1
import Testing
@testable import Simulator

@Suite struct AuthTests {
    let probe = Soap.syncFolderItems("user1@tenant1.example")

    func token(_ sim: SimFixture, tenant: Int = 0, secret: String? = nil) async throws -> (Int, [String: Any]) {
        let info = sim.tenants[tenant]
        let form = "grant_type=client_credentials&client_id=\(info.clientId)&client_secret=\(secret ?? info.clientSecret)"
            + "&scope=https%3A%2F%2Foutlook.office365.com%2F.default"
        let response = try await RawHTTP.send(port: sim.port, path: "/t/\(info.name)/oauth2/v2.0/token",
                                              headers: ["Content-Type": "application/x-www-form-urlencoded"], body: form)
        return (response.status, (try JSONSerialization.jsonObject(with: Data(response.body.utf8))) as? [String: Any] ?? [:])
    }

    @Test func basicAuthWithTheServiceIdentityWorks() async throws {
        try await SimFixture.with { sim in
            let response = try await sim.ews(probe)
            #expect(response.status == 200)
            #expect(Soap.code(try Soap.messages(response.body)[0]) == "NoError")
        }
    }

    @Test func missingOrWrongCredentialsGive401WithWWWAuthenticate() async throws {
        try await SimFixture.with { sim in
            for auth in [SimFixture.Auth.none, .password("wrong"), .bearer("sim.bogus")] {
                let response = try await sim.ews(probe, auth: auth)
                #expect(response.status == 401)
                #expect(response.headers["WWW-Authenticate"].contains { $0.hasPrefix("Basic") })
            }
            // Another tenant's service identity is not valid here.
            let other = sim.headers(.service, tenant: 1)
            let response = try await RawHTTP.send(port: sim.port, path: sim.ewsPath(0), headers: other, body: probe)
            #expect(response.status == 401)
        }
    }

    @Test func oauthTokenWorksUntilItExpires() async throws {
        try await SimFixture.with({ $0.tokenLifetime = .seconds(600) }) { sim in
            let (status, json) = try await token(sim)
            #expect(status == 200)
            #expect(json["token_type"] as? String == "Bearer")
            #expect(json["expires_in"] as? Int == 600)
            let token = try #require(json["access_token"] as? String)
            #expect(try await sim.ews(probe, auth: .bearer(token)).status == 200)
            sim.clock.advance(by: .seconds(599))
            #expect(try await sim.ews(probe, auth: .bearer(token)).status == 200)
            sim.clock.advance(by: .seconds(1))
            #expect(try await sim.ews(probe, auth: .bearer(token)).status == 401)
        }
    }

    @Test func tokenOfAnotherTenantGives401() async throws {
        try await SimFixture.with { sim in
            let (_, json) = try await token(sim, tenant: 1)
            let token = try #require(json["access_token"] as? String)
            #expect(try await sim.ews(Soap.syncFolderItems("user1@tenant2.example"), tenant: 1, auth: .bearer(token)).status == 200)
            #expect(try await sim.ews(probe, tenant: 0, auth: .bearer(token)).status == 401)
        }
    }

    @Test func wrongClientSecretIsRefusedAtTheTokenEndpoint() async throws {
        try await SimFixture.with { sim in
            let (status, json) = try await token(sim, secret: "nope")
            #expect(status == 401)
            #expect(json["error"] as? String == "invalid_client")
        }
    }

    @Test func clientCredentialsWithoutDefaultScopeAreRefused() async throws {
        try await SimFixture.with { sim in
            let info = sim.tenants[0]
            let form = "grant_type=client_credentials&client_id=\(info.clientId)&client_secret=\(info.clientSecret)&scope=EWS.AccessAsUser.All"
            let response = try await RawHTTP.send(port: sim.port, path: "/t/\(info.name)/oauth2/v2.0/token",
                                                  headers: ["Content-Type": "application/x-www-form-urlencoded"], body: form)
            #expect(response.status == 400)
            #expect(response.body.contains("invalid_scope"))
        }
    }

    @Test func impersonationIsCheckedAgainstTheIdentitysRights() async throws {
        try await SimFixture.with { sim in
            // A plain user may not impersonate someone else: a SOAP fault, HTTP 500.
            let denied = try await sim.ews(probe, auth: .user("user2@tenant1.example"))
            #expect(denied.status == 500)
            #expect(Soap.faultCode(denied.body) == "ErrorImpersonateUserDenied")
            // Impersonating a mailbox that does not exist in this tenant.
            let missing = try await sim.ews(Soap.syncFolderItems("user1@tenant2.example"))
            #expect(missing.status == 500)
            #expect(Soap.faultCode(missing.body) == "ErrorNonExistentMailbox")
            // A user may open its own mailbox without impersonation.
            let own = Soap.envelope("<m:GetFolder><m:FolderShape><t:BaseShape>Default</t:BaseShape></m:FolderShape>"
                                    + "<m:FolderIds><t:DistinguishedFolderId Id=\"inbox\"/></m:FolderIds></m:GetFolder>")
            let response = try await sim.ews(own, auth: .user("user2@tenant1.example"))
            #expect(Soap.code(try Soap.messages(response.body)[0]) == "NoError")
        }
    }
}
