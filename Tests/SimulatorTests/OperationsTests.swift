import Foundation
import Testing
@testable import Simulator

@Suite struct OperationsTests {
    let mailbox = "user1@tenant1.example"

    @Test func getItemAnswersPerIdAndFailsOnlyTheMissingOnes() async throws {
        try await SimFixture.with { sim in
            let ids = try sim.world.deliver(mailbox: mailbox, count: 2)
            try sim.world.deleteItem(itemId: ids[1], hard: true)
            let response = try await sim.ews(Soap.getItem([ids[0], ids[1], "AAMkbroken"], impersonate: mailbox))
            #expect(response.status == 200)
            let messages = try Soap.messages(response.body)
            #expect(messages.map(Soap.code) == ["NoError", "ErrorItemNotFound", "ErrorInvalidIdMalformed"])
            #expect(messages.map { $0.attribute("ResponseClass") } == ["Success", "Error", "Error"])
            let message = messages[0].child(NS.messages, "Items")?.child(NS.types, "Message")
            let truth = try sim.world.items(mailbox: mailbox).first { $0.itemId == ids[0] }!
            #expect(message?.child(NS.types, "ItemId")?.attribute("ChangeKey") == truth.changeKey)
            #expect(message?.child(NS.types, "Subject")?.trimmedText == truth.subject)
            #expect(message?.child(NS.types, "IsRead")?.trimmedText == "false")
        }
    }

    @Test func movedItemsOldIdIsNotFound() async throws {
        try await SimFixture.with { sim in
            let id = try sim.world.deliver(mailbox: mailbox)[0]
            let newId = try sim.world.moveItem(itemId: id, toFolder: "Projects")
            let response = try await sim.ews(Soap.getItem([id, newId], impersonate: mailbox))
            #expect(try Soap.messages(response.body).map(Soap.code) == ["ErrorItemNotFound", "NoError"])
        }
    }

    @Test func syncOverHTTPKeepsStateAndRefusesTamperedState() async throws {
        try await SimFixture.with { sim in
            let first = try Soap.messages(try await sim.ews(Soap.syncFolderItems(mailbox)).body)[0]
            let state = try #require(first.child(NS.messages, "SyncState")?.trimmedText)
            let inbox = try sim.world.items(mailbox: mailbox, folder: "inbox")
            #expect(first.child(NS.messages, "Changes")?.children.count == inbox.count)
            let id = try sim.world.deliver(mailbox: mailbox)[0]
            let second = try Soap.messages(try await sim.ews(Soap.syncFolderItems(mailbox, state: state)).body)[0]
            let creates = second.child(NS.messages, "Changes")?.children ?? []
            #expect(creates.map(\.localName) == ["Create"])
            #expect(creates.first?.child(NS.types, "Message")?.child(NS.types, "ItemId")?.attribute("Id") == id)
            let bad = try Soap.messages(try await sim.ews(Soap.syncFolderItems(mailbox, state: "H4sIAAAAAAAEAO29B2A=")).body)[0]
            #expect(Soap.code(bad) == "ErrorInvalidSyncStateData")
            #expect(bad.child(NS.messages, "IncludesLastItemInRange")?.trimmedText == "true")
        }
    }

    @Test func findItemPagesShallowNewestFirst() async throws {
        try await SimFixture.with({ $0.itemsPerMailbox = 0 }) { sim in
            _ = try sim.world.deliver(mailbox: mailbox, count: 5)
            func page(_ offset: Int) async throws -> SimXMLNode {
                let body = Soap.envelope("<m:FindItem Traversal=\"Shallow\"><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape></m:ItemShape>"
                    + "<m:IndexedPageItemView MaxEntriesReturned=\"3\" Offset=\"\(offset)\" BasePoint=\"Beginning\"/>"
                    + "<m:ParentFolderIds><t:DistinguishedFolderId Id=\"inbox\"/></m:ParentFolderIds></m:FindItem>",
                    impersonate: mailbox)
                return try Soap.messages(try await sim.ews(body).body)[0].child(NS.messages, "RootFolder")!
            }
            let first = try await page(0)
            #expect(first.attribute("IncludesLastItemInRange") == "false")
            #expect(first.attribute("TotalItemsInView") == "5")
            #expect(first.child(NS.types, "Items")?.children.count == 3)
            let second = try await page(3)
            #expect(second.attribute("IncludesLastItemInRange") == "true")
            #expect(second.child(NS.types, "Items")?.children.count == 2)
        }
    }

    @Test func syncFolderHierarchyListsFoldersAndThenOnlyNewOnes() async throws {
        try await SimFixture.with { sim in
            let body = { (state: String?) in
                Soap.envelope("<m:SyncFolderHierarchy><m:FolderShape><t:BaseShape>Default</t:BaseShape></m:FolderShape>"
                              + (state.map { "<m:SyncState>\($0)</m:SyncState>" } ?? "") + "</m:SyncFolderHierarchy>",
                              impersonate: "user1@tenant1.example")
            }
            let first = try Soap.messages(try await sim.ews(body(nil)).body)[0]
            #expect((first.child(NS.messages, "Changes")?.children.count ?? 0) >= 7)
            let state = try #require(first.child(NS.messages, "SyncState")?.trimmedText)
            let folderId = try sim.world.createFolder(mailbox: "user1@tenant1.example", name: "Invoices")
            let second = try Soap.messages(try await sim.ews(body(state)).body)[0]
            let changes = second.child(NS.messages, "Changes")?.children ?? []
            #expect(changes.count == 1)
            #expect(changes.first?.children.first?.child(NS.types, "FolderId")?.attribute("Id") == folderId)
        }
    }

    @Test func autodiscoverGivesEwsUrlAndOneGroupingValuePerServer() async throws {
        try await SimFixture.with { sim in
            let users = (1...4).map { "<a:User><a:Mailbox>user\($0)@tenant1.example</a:Mailbox></a:User>" }.joined()
            let body = """
                <soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:a="http://schemas.microsoft.com/exchange/2010/Autodiscover" xmlns:wsa="http://www.w3.org/2005/08/addressing">
                <soap:Header><a:RequestedServerVersion>Exchange2013</a:RequestedServerVersion>
                <wsa:Action>http://schemas.microsoft.com/exchange/2010/Autodiscover/Autodiscover/GetUserSettings</wsa:Action></soap:Header>
                <soap:Body><a:GetUserSettingsRequestMessage><a:Request><a:Users>\(users)<a:User><a:Mailbox>nobody@tenant1.example</a:Mailbox></a:User></a:Users>
                <a:RequestedSettings><a:Setting>ExternalEwsUrl</a:Setting><a:Setting>GroupingInformation</a:Setting></a:RequestedSettings>
                </a:Request></a:GetUserSettingsRequestMessage></soap:Body></soap:Envelope>
                """
            let response = try await RawHTTP.send(port: sim.port, path: "/t/tenant1/autodiscover/autodiscover.svc",
                                                  headers: sim.headers(.service), body: body)
            #expect(response.status == 200)
            let root = try Soap.parse(response.body)
            let users_ = root.child(NS.soap, "Body")?.child(NS.autodiscover, "GetUserSettingsResponseMessage")?
                .child(NS.autodiscover, "Response")?.child(NS.autodiscover, "UserResponses")?.children ?? []
            #expect(users_.count == 5)
            func setting(_ user: SimXMLNode, _ name: String) -> String? {
                user.child(NS.autodiscover, "UserSettings")?.children.first {
                    $0.child(NS.autodiscover, "Name")?.trimmedText == name
                }?.child(NS.autodiscover, "Value")?.trimmedText
            }
            let urls = Set(users_.prefix(4).compactMap { setting($0, "ExternalEwsUrl") })
            #expect(urls == [sim.tenants[0].ewsURL])
            let groups = users_.prefix(4).map { setting($0, "GroupingInformation") ?? "" }
            #expect(groups[0] == groups[2] && groups[1] == groups[3] && groups[0] != groups[1])
            #expect(users_[4].child(NS.autodiscover, "ErrorCode")?.trimmedText == "InvalidUser")
        }
    }

    @Test func exchangelibStyleProbeAndConvertIdReturnServerVersionInfo() async throws {
        try await SimFixture.with { sim in
            let unauthenticated = try await sim.ews(Soap.envelope("<m:ResolveNames ReturnFullContactData=\"false\"><m:UnresolvedEntry>DUMMY</m:UnresolvedEntry></m:ResolveNames>"), auth: .none)
            #expect(unauthenticated.status == 401)
            #expect(unauthenticated.headers["WWW-Authenticate"].contains { $0.lowercased().hasPrefix("basic") })
            let convert = Soap.envelope("<m:ConvertId DestinationFormat=\"EwsId\"><m:SourceIds><t:AlternateId Format=\"EwsId\" Id=\"DUMMY\" Mailbox=\"DUMMY\"/></m:SourceIds></m:ConvertId>", version: "Exchange2016")
            let response = try await sim.ews(convert, headers: ["client-request-id": "abc-123", "return-client-request-id": "true"])
            #expect(response.status == 200)
            #expect(response.headers.first(name: "client-request-id") == "abc-123")
            #expect(response.headers.first(name: "request-id") != nil)
            let header = try Soap.parse(response.body).child(NS.soap, "Header")?.child(NS.types, "ServerVersionInfo")
            #expect(header?.attribute("MajorVersion") == "15")
            #expect(header?.attribute("Version") == "V2018_01_08")
        }
    }
}

@Suite struct HTTPBehaviourTests {
    @Test func expect100ContinueIsAnsweredAtOnce() async throws {
        try await SimFixture.with { sim in
            let stream = try await RawHTTP.open(port: sim.port, path: sim.ewsPath(),
                                                headers: sim.headers(.service, extra: ["Expect": "100-continue"]),
                                                body: Soap.syncFolderItems("user1@tenant1.example"))
            #expect(try await stream.readHead().status == .continue)
            #expect(try await stream.readHead().status == .ok)
            await stream.close()
        }
    }
}
