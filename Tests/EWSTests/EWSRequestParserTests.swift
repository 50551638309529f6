import Foundation
import Testing

@testable import EWS

@Suite struct EWSRequestParserTests {
    static let headers = EWSRequestHeaders(serverVersion: .exchange2016, impersonation: .primarySmtpAddress("a&b@c.d"))

    @Test func builtRequestsRoundTrip() throws {
        let bodies: [EWSParsedRequest.Body] = [
            .subscribe(try SubscribeRequest(scope: .folders([.inbox, .distinguished("calendar", changeKey: "k",
                mailbox: "bob@contoso.com"), .id("AAMk<&>", changeKey: "AQ")]), eventTypes: [.newMail, .created])),
            .subscribe(try SubscribeRequest(scope: .allFolders)),
            .getStreamingEvents(try GetStreamingEventsRequest(subscriptionIDs: ["a", "b&c"], connectionTimeoutMinutes: 7)),
            .unsubscribe(try UnsubscribeRequest(subscriptionID: "s1")),
            .syncFolderItems(try SyncFolderItemsRequest(folder: .id("F", changeKey: "C"), syncState: "H4s=",
                ignore: [EWSItemID(id: "i", changeKey: "c")], maxChangesReturned: 100, scope: .normalItems)),
            .syncFolderHierarchy(SyncFolderHierarchyRequest(folder: .msgFolderRoot, syncState: "S")),
            .syncFolderHierarchy(SyncFolderHierarchyRequest()),
            .syncFolderHierarchy(SyncFolderHierarchyRequest(folder: .msgFolderRoot, shape: .default,
                                                            additionalProperties: ["folder:FolderClass"])),
            .getItem(try GetItemRequest(itemIDs: [EWSItemID(id: "x", changeKey: "y"), EWSItemID(id: "z")])),
            .getFolder(try GetFolderRequest(folders: [.inbox, .root])),
        ]
        for body in bodies {
            let data: Data
            switch body {
            case .subscribe(let request): data = request.envelope(headers: Self.headers)
            case .getStreamingEvents(let request): data = request.envelope(headers: Self.headers)
            case .unsubscribe(let request): data = request.envelope(headers: Self.headers)
            case .syncFolderItems(let request): data = request.envelope(headers: Self.headers)
            case .syncFolderHierarchy(let request): data = request.envelope(headers: Self.headers)
            case .getItem(let request): data = request.envelope(headers: Self.headers)
            case .getFolder(let request): data = request.envelope(headers: Self.headers)
            default: Issue.record("unexpected"); continue
            }
            let parsed = try EWSRequestParser.parse(data)
            #expect(parsed.body == body)
            #expect(parsed.serverVersion == .exchange2016)
            #expect(parsed.impersonation == .primarySmtpAddress("a&b@c.d"))
        }
        let autodiscover = try GetUserSettingsRequest(mailboxes: ["a@b.c", "d@e.f"], endpoint: "https://ad/x.svc")
        let parsed = try EWSRequestParser.parse(autodiscover.envelope())
        #expect(parsed.body == .getUserSettings(autodiscover))
        #expect(parsed.operation == .getUserSettings)
    }

    @Test func sampleRequestsParse() throws {
        let subscribe = try EWSRequestParser.parse(try TestPaths.fixture("01-subscribe-streaming-request.xml"))
        #expect(subscribe.serverVersion == .exchange2013)
        #expect(subscribe.body == .subscribe(try SubscribeRequest(scope: .folders([.inbox]), eventTypes: [
            .newMail, .created, .deleted, .modified, .moved, .copied, .freeBusyChanged])))
        let impersonated = try EWSRequestParser.parse(
            try TestPaths.fixture("03-subscribe-streaming-impersonated-request.xml"))
        #expect(impersonated.impersonation == .smtpAddress("alfred@contoso.com"))
        let gse = try EWSRequestParser.parse(try TestPaths.fixture("05-getstreamingevents-grouped-request.xml"))
        guard case .getStreamingEvents(let request) = gse.body else { Issue.record("\(gse)"); return }
        #expect(request.subscriptionIDs.count == 2)
        #expect(request.connectionTimeoutMinutes == 10)
        let sync = try EWSRequestParser.parse(try TestPaths.fixture("10-syncfolderitems-initial-request.xml"))
        #expect(sync.body == .syncFolderItems(try SyncFolderItemsRequest(folder: .inbox, maxChangesReturned: 10,
            scope: .normalItems)))
        let unsubscribe = try EWSRequestParser.parse(try TestPaths.fixture("18-unsubscribe-request.xml"))
        #expect(unsubscribe.body == .unsubscribe(try UnsubscribeRequest(subscriptionID: "e6fbf5c1-7e26-4bc6-a5f2-882063d5e34e")))
        #expect(unsubscribe.serverVersion == nil)
    }

    @Test func schemaViolationsAreInvalidValue() throws {
        let good = try GetStreamingEventsRequest(subscriptionIDs: ["a"], connectionTimeoutMinutes: 30).envelopeString()
        let bad = good.replacing("<m:ConnectionTimeout>30<", with: "<m:ConnectionTimeout>31<")
        do {
            _ = try EWSRequestParser.parse(Data(bad.utf8))
            Issue.record("expected an error")
        } catch {
            #expect(error.code == .invalidValue)
            #expect(error.detail.contains("ConnectionTimeout"))
        }
    }

    @Test func unknownOperationIsUnsupported() throws {
        let xml = """
            <soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>
            <m:FindItem xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages"/></soap:Body></soap:Envelope>
            """
        let parsed = try EWSRequestParser.parse(Data(xml.utf8))
        #expect(parsed.body == .unsupported(element: XMLName(EWSNamespace.messages, "FindItem")))
        #expect(parsed.operation == nil)
    }
}
