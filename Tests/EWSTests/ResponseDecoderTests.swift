import Foundation
import Testing

@testable import EWS

@Suite struct ResponseDecoderTests {
    let decoder = EWSResponseDecoder()

    @Test func subscribeResponses() throws {
        for (file, id) in [
            ("02-subscribe-streaming-response.xml",
                "JgBibjFwcjAzbWIyMDIubmFtcHJkMDMucHJvZC5vdXRsb29rLmNvbRAAAADwXxVesOnHS5BxUHKwAW88SHjwd1iB0Ag="),
            ("04-subscribe-response-with-affinity-cookie.xml",
                "JgBjbzFwcjA2bWIyMjIubmFtcHJkMDYucHJvZC5vdXRsb29rLmNvbRAAAAAUeGk+7JFdSaFM8/NI/gQQpVdgZX6H0Ag="),
        ] {
            let response = try decoder.decode(try TestPaths.fixture(file), as: .subscribe)
            guard case .subscribe(let messages) = response else { Issue.record("\(response)"); return }
            #expect(messages.count == 1)
            #expect(messages[0].status == .noError)
            #expect(messages[0].subscriptionID == id)
            #expect(messages[0].watermark == nil)
        }
    }

    @Test func heartbeatAndClosedSamples() throws {
        let heartbeat = try decoder.decode(try TestPaths.fixture("07-getstreamingevents-heartbeat-ok.xml"),
            as: .getStreamingEvents)
        #expect(heartbeat == .getStreamingEvents([.heartbeat]))
        let closed = try decoder.decode(try TestPaths.fixture("08-getstreamingevents-closed.xml"), as: .getStreamingEvents)
        #expect(closed == .getStreamingEvents([.closed]))
    }

    @Test func syncFolderItemsInitial() throws {
        let response = try decoder.decode(try TestPaths.fixture("11-syncfolderitems-response-initial.xml"),
            as: .syncFolderItems)
        guard case .syncFolderItems(let messages) = response else { Issue.record("\(response)"); return }
        let message = try #require(messages.first)
        #expect(message.status.isSuccess)
        #expect(message.syncState == "H4sIAAA==")
        #expect(message.includesLastItemInRange == true)
        #expect(message.changes.count == 5)
        #expect(message.changes.allSatisfy { $0.kind == .create && $0.itemType == "Message" })
        #expect(message.changes[0].itemID == EWSItemID(id: "q04QAAAA==", changeKey: "CQAAABYAAABhFfgM7MNwSYx0VZ0GoBMJAAAATVdC"))
        #expect(message.changes[4].itemID.changeKey == "CQAAABYAAABhFfgM7MNwSYx0VZ0GoBMJAAAATVc4")
    }

    /// IdOnly with `message:IsRead` asked for (a baseline): each Create carries its read state;
    /// one without it (nothing asked) says nil, not false.
    @Test func syncFolderItemsCreatesCarryIsReadWhenAskedFor() throws {
        let m = "http://schemas.microsoft.com/exchange/services/2006/messages"
        let t = "http://schemas.microsoft.com/exchange/services/2006/types"
        let xml = """
            <s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>\
            <m:SyncFolderItemsResponse xmlns:m="\(m)" xmlns:t="\(t)"><m:ResponseMessages>\
            <m:SyncFolderItemsResponseMessage ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode>\
            <m:SyncState>S1</m:SyncState><m:IncludesLastItemInRange>true</m:IncludesLastItemInRange><m:Changes>\
            <t:Create><t:Message><t:ItemId Id="a" ChangeKey="k"/><t:IsRead>true</t:IsRead></t:Message></t:Create>\
            <t:Create><t:Message><t:ItemId Id="b" ChangeKey="k"/><t:IsRead>false</t:IsRead></t:Message></t:Create>\
            <t:Create><t:Message><t:ItemId Id="c" ChangeKey="k"/></t:Message></t:Create>\
            </m:Changes></m:SyncFolderItemsResponseMessage></m:ResponseMessages></m:SyncFolderItemsResponse></s:Body></s:Envelope>
            """
        guard case .syncFolderItems(let messages) = try decoder.decode(Data(xml.utf8), as: .syncFolderItems) else {
            Issue.record("not a SyncFolderItems response")
            return
        }
        #expect(messages.first?.changes.map(\.isRead) == [true, false, nil])
    }

    @Test func syncFolderItemsInvalidSyncState() throws {
        let response = try decoder.decode(try TestPaths.fixture("13-syncfolderitems-error-invalidsyncstate.xml"),
            as: .syncFolderItems)
        guard case .syncFolderItems(let messages) = response else { Issue.record("\(response)"); return }
        let status = try #require(messages.first?.status)
        #expect(status.responseClass == .error)
        #expect(status.responseCode == "ErrorInvalidSyncStateData")
        #expect(status.messageText == "Synchronization state data is corrupt or otherwise invalid.")
        #expect(messages[0].syncState == "")
        #expect(EWSActionTable.action(for: status).action == .fullResync)
    }

    @Test func syncFolderHierarchy() throws {
        let response = try decoder.decode(try TestPaths.fixture("14-syncfolderhierarchy-response.xml"),
            as: .syncFolderHierarchy)
        guard case .syncFolderHierarchy(let messages) = response else { Issue.record("\(response)"); return }
        let message = try #require(messages.first)
        #expect(message.syncState == "H4sIAA==")
        #expect(message.includesLastFolderInRange == true)
        #expect(message.changes.map(\.folder.folderID.id) == ["AAMkADM=", "AAMkADMzM=", "AAMkAD/AAA=", "AAMkADBh="])
        #expect(message.changes.allSatisfy { $0.kind == .create && $0.folder.folderType == "Folder" })
    }

    @Test func getItemPartialFailureReportsPerItem() throws {
        let response = try decoder.decode(try TestPaths.fixture("15-getitem-batch-partial-failure.xml"), as: .getItem)
        guard case .getItem(let messages) = response else { Issue.record("\(response)"); return }
        #expect(messages.count == 2)
        #expect(messages[0].status.isSuccess)
        #expect(messages[0].items.first?.itemID.id == "Er5cAAA=")
        #expect(messages[0].items.first?.subject == "Business plans")
        #expect(messages[0].items.first?.itemType == "Message")
        #expect(!messages[1].status.isSuccess)
        #expect(messages[1].status.responseCode == "ErrorItemNotFound")
        #expect(messages[1].items.isEmpty)
        #expect(EWSActionTable.action(for: messages[1].status).action == .skipItem)
    }

    @Test func unsubscribeNotFound() throws {
        let response = try decoder.decode(try TestPaths.fixture("19-unsubscribe-error-subscriptionnotfound.xml"),
            as: .unsubscribe)
        guard case .unsubscribe(let messages) = response else { Issue.record("\(response)"); return }
        #expect(messages.first?.status.responseCode == "ErrorSubscriptionNotFound")
        #expect(messages.first?.status.messageText == "The specified subscription was not found.")
    }

    @Test func requestSamplesParseByNamespace() throws {
        // Requests are not responses, but the DOM parser must read them (simulator use).
        let root = try EWSXMLDocument.parse(try TestPaths.fixture("18-unsubscribe-request.xml"))
        let body = try EWSResponseDecoder.bodyElement(of: root)
        #expect(body.name == XMLName(EWSNamespace.messages, "Unsubscribe"))
        #expect(body.ewsText("SubscriptionId") == "e6fbf5c1-7e26-4bc6-a5f2-882063d5e34e")
        let gse = try EWSResponseDecoder.bodyElement(of: EWSXMLDocument.parse(
            try TestPaths.fixture("05-getstreamingevents-grouped-request.xml")))
        #expect(gse.ewsChild("SubscriptionIds")?.ewsChildren("SubscriptionId").count == 2)
        #expect(gse.ewsText("ConnectionTimeout") == "10")
    }

    @Test func wrongOperationIsAnError() throws {
        #expect(throws: EWSDecodingError.self) {
            try decoder.decode(try TestPaths.fixture("02-subscribe-streaming-response.xml"), as: .getItem)
        }
    }

    @Test func getFolderResponseWithUnknownElementsAndMissingNamespace() throws {
        let xml = """
            <soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body>
            <x:GetFolderResponse xmlns:x="http://schemas.microsoft.com/exchange/services/2006/messages">
              <x:Surprise><x:Deep/></x:Surprise>
              <x:ResponseMessages>
                <x:GetFolderResponseMessage ResponseClass="Success">
                  <ResponseCode>NoError</ResponseCode>
                  <x:Folders><y:Folder xmlns:y="http://schemas.microsoft.com/exchange/services/2006/types">
                    <y:FolderId Id="INBOXID" ChangeKey="AQ=="/><FolderClass>IPF.Note</FolderClass>
                    <y:DisplayName>Inbox</y:DisplayName><y:Unknown a="1"/></y:Folder></x:Folders>
                </x:GetFolderResponseMessage>
              </x:ResponseMessages></x:GetFolderResponse></soapenv:Body></soapenv:Envelope>
            """
        let response = try decoder.decode(Data(xml.utf8), as: .getFolder)
        guard case .getFolder(let messages) = response else { Issue.record("\(response)"); return }
        let folder = try #require(messages.first?.folders.first)
        #expect(messages.first?.status == .noError)
        #expect(folder.folderID == EWSItemID(id: "INBOXID", changeKey: "AQ=="))
        #expect(folder.displayName == "Inbox")
        #expect(folder.folderClass == "IPF.Note")
    }

    @Test func getItemWithSummaryProperties() throws {
        let xml = """
            <s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>
            <m:GetItemResponse xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages"
              xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types"><m:ResponseMessages>
            <m:GetItemResponseMessage ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode><m:Items>
            <t:Message><t:ItemId Id="I1" ChangeKey="C1"/><t:ParentFolderId Id="P"/><t:Subject> Q3 &amp; &lt;plans&gt; </t:Subject>
            <t:DateTimeReceived>2024-05-01T10:00:00Z</t:DateTimeReceived><t:Size>1234</t:Size>
            <t:HasAttachments>true</t:HasAttachments>
            <t:Sender><t:Mailbox><t:Name>Ann</t:Name><t:EmailAddress>ann@contoso.com</t:EmailAddress></t:Mailbox></t:Sender>
            <t:IsRead>false</t:IsRead></t:Message></m:Items></m:GetItemResponseMessage>
            </m:ResponseMessages></m:GetItemResponse></s:Body></s:Envelope>
            """
        guard case .getItem(let messages) = try decoder.decode(Data(xml.utf8), as: .getItem) else {
            Issue.record("not getItem"); return
        }
        let item = try #require(messages.first?.items.first)
        #expect(item.subject == " Q3 & <plans> ")
        #expect(item.sender == EWSItem.Mailbox(name: "Ann", emailAddress: "ann@contoso.com"))
        #expect(item.dateTimeReceived == "2024-05-01T10:00:00Z")
        #expect(item.size == 1234)
        #expect(item.hasAttachments == true)
        #expect(item.isRead == false)
        #expect(item.parentFolderID?.id == "P")
    }

    /// The extended properties of a property profile, as Exchange writes them (ItemType order, then
    /// MessageType's); an absent element stays nil, an empty Categories is an empty list.
    @Test func getItemWithExtendedProperties() throws {
        let xml = """
            <s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>
            <m:GetItemResponse xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages"
              xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types"><m:ResponseMessages>
            <m:GetItemResponseMessage ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode><m:Items>
            <t:Message><t:ItemId Id="I1" ChangeKey="C1"/><t:Subject>Hi</t:Subject>
            <t:Body BodyType="Text" IsTruncated="true">Line one
              line two &amp; more</t:Body>
            <t:Categories><t:String>Vendor</t:String><t:String> Follow-up </t:String></t:Categories>
            <t:Importance>High</t:Importance><t:ConversationId Id="AAQkAD12"/>
            <t:Flag><t:FlagStatus>Flagged</t:FlagStatus></t:Flag>
            <t:ToRecipients><t:Mailbox><t:Name>Bob</t:Name><t:EmailAddress>bob@contoso.com</t:EmailAddress></t:Mailbox>
              <t:Mailbox><t:Name>Group without address</t:Name></t:Mailbox></t:ToRecipients>
            <t:CcRecipients><t:Mailbox><t:EmailAddress>cc@contoso.com</t:EmailAddress></t:Mailbox></t:CcRecipients>
            <t:From><t:Mailbox><t:Name>Ann</t:Name><t:EmailAddress>ann@contoso.com</t:EmailAddress></t:Mailbox></t:From>
            <t:InternetMessageId>&lt;m1@contoso.com&gt;</t:InternetMessageId>
            </t:Message>
            <t:Message><t:ItemId Id="I2" ChangeKey="C2"/><t:Categories/></t:Message>
            </m:Items></m:GetItemResponseMessage>
            </m:ResponseMessages></m:GetItemResponse></s:Body></s:Envelope>
            """
        guard case .getItem(let messages) = try decoder.decode(Data(xml.utf8), as: .getItem) else {
            Issue.record("not getItem"); return
        }
        let items = try #require(messages.first?.items)
        #expect(items.count == 2)
        let item = items[0]
        #expect(item.body == "Line one\n  line two & more")
        #expect(item.categories == ["Vendor", "Follow-up"])
        #expect(item.importance == "High")
        #expect(item.conversationID == "AAQkAD12")
        #expect(item.flagStatus == "Flagged")
        #expect(item.toRecipients == [EWSItem.Mailbox(name: "Bob", emailAddress: "bob@contoso.com"),
                                      EWSItem.Mailbox(name: "Group without address")])
        #expect(item.ccRecipients == [EWSItem.Mailbox(emailAddress: "cc@contoso.com")])
        #expect(item.from == EWSItem.Mailbox(name: "Ann", emailAddress: "ann@contoso.com"))
        #expect(item.internetMessageID == "<m1@contoso.com>")
        #expect(items[1].categories == [])
        #expect(items[1].importance == nil && items[1].ccRecipients == nil && items[1].body == nil)
    }

    @Test func soapFaultWithBackoffInTypesOrErrorsNamespace() throws {
        for ns in [EWSNamespace.types, EWSNamespace.errors] {
            let xml = """
                <s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><s:Fault>
                <faultcode xmlns:a="http://schemas.microsoft.com/exchange/services/2006/types">a:ErrorServerBusy</faultcode>
                <faultstring xml:lang="en-US">The server cannot service this request right now. Try again later.</faultstring>
                <detail><e:ResponseCode xmlns:e="http://schemas.microsoft.com/exchange/services/2006/errors">ErrorServerBusy</e:ResponseCode>
                <e:Message xmlns:e="http://schemas.microsoft.com/exchange/services/2006/errors">The server cannot service this request right now. Try again later.</e:Message>
                <t:MessageXml xmlns:t="\(ns)"><t:Value Name="BackOffMilliseconds">178510</t:Value></t:MessageXml>
                </detail></s:Fault></s:Body></s:Envelope>
                """
            let response = try decoder.decode(Data(xml.utf8), as: .syncFolderItems)
            guard case .fault(let fault) = response else { Issue.record("\(response)"); return }
            #expect(fault.faultCode == "a:ErrorServerBusy")
            #expect(fault.responseCode == "ErrorServerBusy")
            #expect(fault.backOffMilliseconds == 178_510)
            let decision = EWSActionTable.action(for: fault)
            #expect(decision.action == .retryLater(EWSRetryHint(backOffMilliseconds: 178_510, budget: .server)))
        }
    }

    @Test func responseMessageThrottlingParsesPolicyFromText() throws {
        let xml = """
            <s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>
            <m:SyncFolderItemsResponse xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages"><m:ResponseMessages>
            <m:SyncFolderItemsResponseMessage ResponseClass="Error">
            <m:MessageText>The server cannot service this request right now. Try again later., This operation exceeds the throttling budget for policy part 'ConcurrentSyncCalls', policy value '5',  Budget type: 'Ews'.  Suggested backoff time 5000 ms.</m:MessageText>
            <m:ResponseCode>ErrorServerBusy</m:ResponseCode><m:DescriptiveLinkKey>0</m:DescriptiveLinkKey>
            </m:SyncFolderItemsResponseMessage></m:ResponseMessages></m:SyncFolderItemsResponse></s:Body></s:Envelope>
            """
        guard case .syncFolderItems(let messages) = try decoder.decode(Data(xml.utf8), as: .syncFolderItems) else {
            Issue.record("not sync"); return
        }
        let status = try #require(messages.first?.status)
        #expect(status.backOffMilliseconds == 5000)
        #expect(status.throttlingPolicy == "ConcurrentSyncCalls")
        #expect(EWSActionTable.action(for: status).action
            == .retryLater(EWSRetryHint(backOffMilliseconds: 5000, budget: .mailboxSync, policy: "ConcurrentSyncCalls")))
    }

    @Test func autodiscoverGetUserSettingsResponse() throws {
        let xml = """
            <s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" xmlns:a="http://www.w3.org/2005/08/addressing">
            <s:Header><a:Action s:mustUnderstand="1">http://schemas.microsoft.com/exchange/2010/Autodiscover/Autodiscover/GetUserSettingsResponse</a:Action></s:Header>
            <s:Body><GetUserSettingsResponseMessage xmlns="http://schemas.microsoft.com/exchange/2010/Autodiscover">
            <Response xmlns:i="http://www.w3.org/2001/XMLSchema-instance"><ErrorCode>NoError</ErrorCode><ErrorMessage/>
            <UserResponses>
              <UserResponse><ErrorCode>NoError</ErrorCode><ErrorMessage>No error.</ErrorMessage><RedirectTarget i:nil="true"/>
                <UserSettingErrors/><UserSettings>
                  <UserSetting i:type="StringSetting"><Name>ExternalEwsUrl</Name><Value>https://outlook.office365.com/EWS/Exchange.asmx</Value></UserSetting>
                  <UserSetting i:type="StringSetting"><Name>GroupingInformation</Name><Value>BN1PR03</Value></UserSetting>
                </UserSettings></UserResponse>
              <UserResponse><ErrorCode>InvalidUser</ErrorCode><ErrorMessage>Invalid user: 'x@contoso.com'</ErrorMessage>
                <RedirectTarget i:nil="true"/><UserSettingErrors/><UserSettings/></UserResponse>
            </UserResponses></Response></GetUserSettingsResponseMessage></s:Body></s:Envelope>
            """
        guard case .getUserSettings(let response) = try decoder.decode(Data(xml.utf8), as: .getUserSettings) else {
            Issue.record("not autodiscover"); return
        }
        #expect(response.isSuccess)
        #expect(response.userResponses.count == 2)
        #expect(response.userResponses[0].groupingKey == "https://outlook.office365.com/EWS/Exchange.asmxBN1PR03")
        #expect(response.userResponses[0].redirectTarget == nil)
        #expect(response.userResponses[1].errorCode == "InvalidUser")
        #expect(!response.userResponses[1].isSuccess)
    }

    @Test func httpConditionsAreTyped() {
        #expect(EWSHTTPFailure.classify(status: 200) == nil)
        #expect(EWSHTTPFailure.classify(status: 500, bodyHasEnvelope: true) == nil)
        #expect(EWSHTTPFailure.classify(status: 500)?.kind == .serverError)
        #expect(EWSHTTPFailure.classify(status: 401)?.kind == .unauthorized)
        #expect(EWSHTTPFailure.classify(status: 403)?.kind == .forbidden)
        #expect(EWSHTTPFailure.classify(status: 503, headers: ["Retry-After": " 120"])
            == EWSHTTPFailure(kind: .serviceUnavailable, status: 503, retryAfterSeconds: 120))
        #expect(EWSHTTPFailure.classify(status: 302, headers: ["location": "/ews/genericerrorpage.htm?aspxerrorpath=/EWS"])?
            .kind == .genericErrorPageRedirect)
        #expect(EWSHTTPFailure.classify(status: 301, headers: ["Location": "https://elsewhere"])?.kind == .redirect)
        #expect(EWSHTTPFailure.classify(status: 418)?.kind == .unexpectedStatus)
    }
}

@Suite struct HTTPOutcomeTests {
    let decoder = EWSResponseDecoder()

    @Test func outcomesByStatus() throws {
        let fault = Data("""
            <s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><s:Fault>
            <faultcode xmlns:a="http://schemas.microsoft.com/exchange/services/2006/types">a:ErrorServerBusy</faultcode>
            <faultstring>busy</faultstring>
            <detail><e:ResponseCode xmlns:e="http://schemas.microsoft.com/exchange/services/2006/errors">ErrorServerBusy</e:ResponseCode>
            <t:MessageXml xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types"><t:Value Name="BackOffMilliseconds">1000</t:Value></t:MessageXml>
            </detail></s:Fault></s:Body></s:Envelope>
            """.utf8)
        let faultOutcome = try decoder.decode(status: 500, body: fault, as: .subscribe)
        #expect(faultOutcome.failureDecision?.action == .retryLater(EWSRetryHint(backOffMilliseconds: 1000, budget: .server)))
        let html = try decoder.decode(status: 500, body: Data("<html>oops</html>".utf8), as: .subscribe)
        #expect(html == .httpFailure(EWSHTTPFailure(kind: .serverError, status: 500)))
        let unauthorized = try decoder.decode(status: 401, body: Data(), as: .getItem)
        #expect(unauthorized.failureDecision?.action == .refreshCredentialsOnce)
        let ok = try decoder.decode(status: 200, body: try TestPaths.fixture("02-subscribe-streaming-response.xml"),
            as: .subscribe)
        guard case .response(.subscribe) = ok else { Issue.record("\(ok)"); return }
        #expect(ok.failureDecision == nil)
        #expect(throws: EWSDecodingError.self) { try decoder.decode(status: 200, body: Data("<x".utf8), as: .subscribe) }
    }
}

@Suite struct ServerVersionInfoTests {
    @Test func readsHeaderInEveryStyle() throws {
        let decoder = EWSResponseDecoder()
        #expect(try decoder.serverVersionInfo(in: TestPaths.fixture("02-subscribe-streaming-response.xml"))
            == EWSServerVersionInfo(major: 15, minor: 0, majorBuild: 785, minorBuild: 6, version: "V2_6"))
        #expect(try decoder.serverVersionInfo(in: TestPaths.fixture("07-getstreamingevents-heartbeat-ok.xml"))
            == EWSServerVersionInfo(major: 15, minor: 0, majorBuild: 847, minorBuild: 31, version: "V2_8"))
        #expect(try decoder.serverVersionInfo(in: TestPaths.fixture("13-syncfolderitems-error-invalidsyncstate.xml"))
            == EWSServerVersionInfo(major: 8, minor: 0, majorBuild: 628, minorBuild: 0, version: ""))
        #expect(try decoder.serverVersionInfo(in: TestPaths.fixture("08-getstreamingevents-closed.xml")) == nil)
    }
}
