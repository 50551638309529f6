import TestSupport
import Testing
@testable import Simulator

/// Requests are checked the way Exchange checks them: against the official schema.
@Suite struct SchemaValidationTests {
    @Test(.requiresSchema, arguments: [
        Soap.getStreamingEvents(["abc"], minutes: 31),
        Soap.getStreamingEvents(["abc"], minutes: 0),
        Soap.envelope("<m:GetStreamingEvents><m:SubscriptionIds><m:SubscriptionId>x</m:SubscriptionId></m:SubscriptionIds>"
                      + "<m:ConnectionTimeout>30</m:ConnectionTimeout></m:GetStreamingEvents>"),
        Soap.syncFolderItems("user1@tenant1.example", max: 513),
        Soap.envelope("<m:SyncFolderItems><m:SyncFolderId><t:DistinguishedFolderId Id=\"inbox\"/></m:SyncFolderId>"
                      + "<m:MaxChangesReturned>5</m:MaxChangesReturned></m:SyncFolderItems>"),
        Soap.syncFolderItems("user1@tenant1.example", folder: "nosuchfolder"),
        Soap.envelope("<m:GetItem><m:ItemIds/></m:GetItem>", version: "Exchange2099"),
        "<soap:Envelope xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\"><soap:Body><oops></soap:Body>",
    ])
    func violationsGetAnErrorSchemaValidationFault(_ body: String) async throws {
        try await SimFixture.with { sim in
            let response = try await sim.ews(body)
            #expect(response.status == 500)
            #expect(Soap.faultCode(response.body) == "ErrorSchemaValidation")
            #expect(response.body.contains("<t:LineNumber>"))
        }
    }

    @Test func validRequestsPass() async throws {
        try await SimFixture.with { sim in
            let response = try await sim.ews(Soap.syncFolderItems("user1@tenant1.example", max: 512))
            #expect(response.status == 200)
        }
    }

    @Test func withoutSchemaDirRangeFacetsStillGiveSchemaFaults() async throws {
        try await SimFixture.with({ $0.schemaDirectory = nil }) { sim in
            for body in [Soap.getStreamingEvents(["abc"], minutes: 31), Soap.syncFolderItems("user1@tenant1.example", max: 0)] {
                let response = try await sim.ews(body)
                #expect(response.status == 500)
                #expect(Soap.faultCode(response.body) == "ErrorSchemaValidation")
            }
        }
    }

    @Test func dtdsAreRefused() {
        let body = "<?xml version=\"1.0\"?><!DOCTYPE x [<!ENTITY a \"aaaa\">]><x>&a;</x>"
        guard case .failure(let error) = SimXMLParser.parse(Array(body.utf8)) else {
            Issue.record("DTD accepted")
            return
        }
        #expect(error.code == .forbiddenConstruct)
    }
}

@Suite struct HostileRequestTests {
    static let laughs: String = {
        var dtd = "<!DOCTYPE lolz [<!ENTITY lol \"lol\">"
        for level in 1...9 {
            dtd += "<!ENTITY lol\(level) \"" + String(repeating: "&lol\(level == 1 ? "" : String(level - 1));", count: 10) + "\">"
        }
        return "<?xml version=\"1.0\"?>" + dtd + "]><soap:Envelope xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\"><soap:Body>&lol9;</soap:Body></soap:Envelope>"
    }()

    @Test(arguments: [
        laughs,
        String(repeating: "<a>", count: 5000) + String(repeating: "</a>", count: 5000),
        "\u{0}\u{1}\u{2}binary",
        "<soap:Envelope xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\"><soap:Body><x:Y xmlns:x=\"urn:x\"/></soap:Body></soap:Envelope>",
    ])
    func hostileBodiesGetAFaultAndTheServerStaysUp(_ body: String) async throws {
        try await SimFixture.with { sim in
            let response = try await sim.ews(body)
            #expect(response.status == 500)
            #expect(Soap.faultCode(response.body) != nil)
            // Still serving.
            #expect(try await sim.ews(Soap.syncFolderItems("user1@tenant1.example")).status == 200)
        }
    }
}
