import Foundation
import TestSupport
import Testing

@testable import EWS

@Suite struct RequestBuilderTests {
    static let impersonated = EWSRequestHeaders(
        serverVersion: .exchange2013SP1, impersonation: .smtpAddress("o'brien&co <x>@contoso.com"))

    /// Every request the codec can build, in its richest form.
    static func allRequests() throws -> [(String, Data)] {
        [
            ("subscribe-folders", try SubscribeRequest(
                scope: .folders([.inbox, .distinguished("calendar", mailbox: "bob@contoso.com"),
                    .id("AAMk<&>\"'", changeKey: "AQAA")])).envelope(headers: impersonated)),
            ("subscribe-all", try SubscribeRequest(scope: .allFolders, eventTypes: [.newMail, .moved])
                .envelope(headers: EWSRequestHeaders(impersonation: .primarySmtpAddress("a@b.c")))),
            ("gse", try GetStreamingEventsRequest(subscriptionIDs: ["JgBib=", "x&y"], connectionTimeoutMinutes: 30)
                .envelope()),
            ("gse-200", try GetStreamingEventsRequest(
                subscriptionIDs: (0..<200).map { "id\($0)" }, connectionTimeoutMinutes: 1).envelope()),
            ("unsubscribe", try UnsubscribeRequest(subscriptionID: "e6fbf5c1").envelope(headers: impersonated)),
            ("sfi-initial", try SyncFolderItemsRequest(folder: .inbox).envelope()),
            ("sfi-full", try SyncFolderItemsRequest(
                folder: .id("AQMk", changeKey: "AQ=="), syncState: "H4sIAAA<>==",
                ignore: [EWSItemID(id: "i1", changeKey: "c1"), EWSItemID(id: "i2")],
                maxChangesReturned: 1, scope: .normalAndAssociatedItems).envelope(headers: impersonated)),
            ("sfi-baseline", try SyncFolderItemsRequest(folder: .inbox, additionalProperties: [.isRead]).envelope()),
            ("sfh", SyncFolderHierarchyRequest().envelope()),
            ("sfh-root", SyncFolderHierarchyRequest(folder: .msgFolderRoot, syncState: "H4s=").envelope()),
            ("sfh-class", SyncFolderHierarchyRequest(folder: .msgFolderRoot, shape: .default,
                                                     additionalProperties: ["folder:FolderClass"]).envelope()),
            ("getitem", try GetItemRequest(itemIDs: [EWSItemID(id: "Er5c", changeKey: "CQAA"), EWSItemID(id: "x")])
                .envelope(headers: impersonated)),
            ("getitem-extended", try GetItemRequest(
                itemIDs: [EWSItemID(id: "Er5c", changeKey: "CQAA")],
                additionalProperties: EWSItemProperty.allCases, bodyType: .text, maximumBodySizeKB: 1)
                .envelope(headers: impersonated)),
            ("finditem-restricted", try FindItemRequest(
                folder: .distinguished("inbox", mailbox: "bob@contoso.com"),
                additionalProperties: EWSItemProperty.summary + [.from, .categories, .importance],
                restriction: .and([.or([.isEqualTo(.importance, "High"), .containsValue(.categories, "Vendor & <co>")]),
                                   .not(.startsWith(.subject, "Re:"))]),
                maxEntries: 250, offset: 250).envelope(headers: impersonated)),
            ("finditem-all", try FindItemRequest(folder: .inbox, additionalProperties: EWSItemProperty.summary, maxEntries: 1000)
                .envelope()),
            ("getfolder", try GetFolderRequest(folders: [.inbox, .msgFolderRoot]).envelope()),
            ("finditem-search", try FindItemRequest(folder: .id("AAMkSearch"), additionalProperties: EWSItemProperty.summary,
                                                    order: .modifiedDescending, maxEntries: 1000, offset: 1000)
                .envelope(headers: impersonated)),
            ("finditem-calendar", try {
                var request = try FindItemRequest(folder: .distinguished("calendar", mailbox: "bob@contoso.com"),
                                                  additionalProperties: [.uid, .calendarItemType], maxEntries: 1000)
                request.calendarView = CalendarWindow(start: Date(timeIntervalSince1970: 1_793_404_800),
                                                      end: Date(timeIntervalSince1970: 1_828_396_800))
                return request.envelope(headers: impersonated)
            }()),
            ("getitem-calendar", try GetItemRequest(itemIDs: [EWSItemID(id: "occ1", changeKey: "ck")],
                                                    additionalProperties: EWSItemProperty.calendar, mastersOf: ["occ2", "occ3"])
                .envelope(headers: impersonated)),
            ("getitem-masters", try GetItemRequest(itemIDs: [], additionalProperties: [], mastersOf: ["occ2"]).envelope()),
            ("findfolder", try FindFolderRequest(parent: .distinguished("searchfolders", mailbox: "bob@contoso.com"), offset: 1000)
                .envelope()),
        ]
    }

    @Test(.requiresSchema) func everyRequestValidatesAgainstOfficialSchema() throws {
        for (name, envelope) in try Self.allRequests() {
            let outcome = try SchemaValidator.validate(envelope)
            #expect(outcome.passed, "\(name): \(outcome.output)")
        }
    }

    @Test(.requiresSchema) func validatorRejectsOutOfRangeTimeout() throws {
        // Proves the validation step can fail: a hand-edited request with ConnectionTimeout 31.
        let good = try GetStreamingEventsRequest(subscriptionIDs: ["a"], connectionTimeoutMinutes: 30).envelopeString()
        let bad = good.replacing("<m:ConnectionTimeout>30<", with: "<m:ConnectionTimeout>31<")
        #expect(try !SchemaValidator.validate(Data(bad.utf8)).passed)
    }

    @Test func versionHeaderIsConfigurableAndDefaultsTo2013SP1() throws {
        let request = try UnsubscribeRequest(subscriptionID: "s")
        #expect(request.envelopeString().contains("<t:RequestServerVersion Version=\"Exchange2013_SP1\"/>"))
        let text = request.envelopeString(headers: EWSRequestHeaders(serverVersion: .exchange2016))
        #expect(text.contains("Version=\"Exchange2016\""))
        #expect(!text.contains("ExchangeImpersonation"))
    }

    @Test func textIsEscapedAndRoundTrips() throws {
        let data = try SubscribeRequest(scope: .folders([.id("AAMk<&>\"'")])).envelope(headers: Self.impersonated)
        let root = try EWSXMLDocument.parse(data)
        let body = try #require(root.child("Body", namespace: EWSNamespace.soap))
        let folder = try #require(body.children.first?.children.first?.ewsChild("FolderIds")?.children.first)
        #expect(folder.attribute("Id") == "AAMk<&>\"'")
        let header = try #require(root.child("Header", namespace: EWSNamespace.soap))
        let smtp = header.ewsChild("ExchangeImpersonation")?.ewsChild("ConnectingSID")?.ewsText("SmtpAddress")
        #expect(smtp == "o'brien&co <x>@contoso.com")
    }

    @Test func getStreamingEventsValidatesOnConstruction() {
        #expect(throws: EWSRequestError.self) { try GetStreamingEventsRequest(subscriptionIDs: []) }
        #expect(throws: EWSRequestError.self) {
            try GetStreamingEventsRequest(subscriptionIDs: (0...200).map { "\($0)" })
        }
        #expect(throws: EWSRequestError.self) { try GetStreamingEventsRequest(subscriptionIDs: ["a"], connectionTimeoutMinutes: 0) }
        #expect(throws: EWSRequestError.self) { try GetStreamingEventsRequest(subscriptionIDs: ["a"], connectionTimeoutMinutes: 31) }
        #expect(throws: Never.self) { try GetStreamingEventsRequest(subscriptionIDs: ["a"], connectionTimeoutMinutes: 1) }
    }

    @Test func otherBuildersValidateRanges() {
        #expect(throws: EWSRequestError.self) { try SyncFolderItemsRequest(folder: .inbox, maxChangesReturned: 0) }
        #expect(throws: EWSRequestError.self) { try SyncFolderItemsRequest(folder: .inbox, maxChangesReturned: 513) }
        #expect(throws: EWSRequestError.self) { try SubscribeRequest(scope: .folders([])) }
        #expect(throws: EWSRequestError.self) { try SubscribeRequest(scope: .allFolders, eventTypes: []) }
        #expect(throws: EWSRequestError.self) { try GetItemRequest(itemIDs: []) }
        #expect(throws: EWSRequestError.self) { try GetFolderRequest(folders: []) }
        #expect(throws: EWSRequestError.self) { try UnsubscribeRequest(subscriptionID: "") }
    }

    @Test func syncFolderItemsDefaultsToIdOnlyAndOmitsEmptyState() throws {
        let text = try SyncFolderItemsRequest(folder: .inbox, syncState: "").envelopeString()
        #expect(text.contains("<t:BaseShape>IdOnly</t:BaseShape>"))
        #expect(!text.contains("SyncState"))
        #expect(text.contains("<m:MaxChangesReturned>512</m:MaxChangesReturned>"))
    }

    @Test func aBaselineSyncAsksForIsReadInTheItemShape() throws {
        let text = try SyncFolderItemsRequest(folder: .inbox, additionalProperties: [.isRead]).envelopeString()
        #expect(text.contains("<m:ItemShape><t:BaseShape>IdOnly</t:BaseShape><t:AdditionalProperties>"
                              + "<t:FieldURI FieldURI=\"message:IsRead\"/></t:AdditionalProperties></m:ItemShape>"))
    }

    @Test func getItemAsksForSummaryProperties() throws {
        let text = try GetItemRequest(itemIDs: [EWSItemID(id: "a", changeKey: "k")]).envelopeString()
        for uri in ["item:Subject", "message:Sender", "item:DateTimeReceived", "item:Size", "item:HasAttachments",
            "message:IsRead"]
        {
            #expect(text.contains("FieldURI=\"\(uri)\""))
        }
        #expect(text.contains("<t:ItemId Id=\"a\" ChangeKey=\"k\"/>"))
    }

    @Test func aBodyPreviewAsksForTextAndAtMostOneKilobyteInSchemaOrder() throws {
        let text = try GetItemRequest(itemIDs: [EWSItemID(id: "a")], additionalProperties: [.subject, .body],
                                      bodyType: .text, maximumBodySizeKB: 1).envelopeString()
        #expect(text.contains("<m:ItemShape><t:BaseShape>IdOnly</t:BaseShape><t:BodyType>Text</t:BodyType>"
                              + "<t:MaximumBodySize>1</t:MaximumBodySize><t:AdditionalProperties>"))
        #expect(text.contains("FieldURI=\"item:Body\""))
        #expect(throws: EWSRequestError.self) { try GetItemRequest(itemIDs: [EWSItemID(id: "a")], maximumBodySizeKB: 0) }
        #expect(EWSServerVersion.exchange2013SP1.allowsMaximumBodySize)
        #expect(!EWSServerVersion.exchange2010SP2.allowsMaximumBodySize)
    }

    @Test func findItemRespectsEWSFindCountLimitAndWritesOneOperandBareAndSortsOldestFirst() throws {
        #expect(throws: EWSRequestError.self) {
            try FindItemRequest(folder: .inbox, additionalProperties: [], restriction: .isEqualTo(.importance, "High"), maxEntries: 251)
        }
        #expect(throws: EWSRequestError.self) { try FindItemRequest(folder: .inbox, additionalProperties: [], maxEntries: 1001) }
        let text = try FindItemRequest(folder: .inbox, additionalProperties: [.subject], restriction: .and([.isEqualTo(.importance, "Low")]),
                                       maxEntries: 10).envelopeString()
        #expect(text.contains("<m:Restriction><t:IsEqualTo><t:FieldURI FieldURI=\"item:Importance\"/><t:FieldURIOrConstant>"
                              + "<t:Constant Value=\"Low\"/></t:FieldURIOrConstant></t:IsEqualTo></m:Restriction>"))
        #expect(text.contains("<m:SortOrder><t:FieldOrder Order=\"Ascending\"><t:FieldURI FieldURI=\"item:DateTimeReceived\"/>"))
    }

    @Test func autodiscoverRequestHasItsOwnNamespaceAndShape() throws {
        let request = try GetUserSettingsRequest(
            mailboxes: ["alice@contoso.com", "b&b@contoso.com"],
            endpoint: "https://autodiscover.contoso.com/autodiscover/autodiscover.svc")
        let root = try EWSXMLDocument.parse(request.envelope())
        #expect(root.name == XMLName(EWSNamespace.soap, "Envelope"))
        let header = try #require(root.child("Header", namespace: EWSNamespace.soap))
        #expect(header.child("RequestedServerVersion", namespace: EWSNamespace.autodiscover)?.text == "Exchange2013")
        #expect(header.child("Action", namespace: EWSNamespace.addressing)?.text == GetUserSettingsRequest.action)
        #expect(header.child("To", namespace: EWSNamespace.addressing)?.text == request.endpoint)
        let body = try #require(root.child("Body", namespace: EWSNamespace.soap))
        let message = try #require(body.child("GetUserSettingsRequestMessage", namespace: EWSNamespace.autodiscover))
        let inner = try #require(message.child("Request", namespace: EWSNamespace.autodiscover))
        let users = inner.child("Users", namespace: EWSNamespace.autodiscover)?.children ?? []
        #expect(users.map { $0.child("Mailbox", namespace: EWSNamespace.autodiscover)?.text }
            == ["alice@contoso.com", "b&b@contoso.com"])
        let settings = inner.child("RequestedSettings", namespace: EWSNamespace.autodiscover)?.children.map(\.text)
        #expect(settings == ["ExternalEwsUrl", "GroupingInformation"])
        #expect(throws: EWSRequestError.self) { try GetUserSettingsRequest(mailboxes: [], endpoint: "x") }
    }
}
