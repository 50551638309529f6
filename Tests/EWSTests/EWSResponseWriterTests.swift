import Foundation
import TestSupport
import Testing

@testable import EWS

@Suite struct EWSResponseWriterTests {
    let decoder = EWSResponseDecoder()
    static let throttled = EWSResponseStatus(responseClass: .error, responseCode: "ErrorServerBusy",
        messageText: "The server cannot service this request right now.", messageXML: ["BackOffMilliseconds": "5000"])

    static let responses: [EWSResponse] = [
        .subscribe([SubscribeResponseMessage(status: .noError, subscriptionID: "JgBi<&>=", watermark: nil)]),
        .unsubscribe([EWSStatusResponseMessage(status: EWSResponseStatus(responseClass: .error,
            responseCode: "ErrorSubscriptionNotFound", messageText: "The specified subscription was not found."))]),
        .syncFolderItems([SyncFolderItemsResponseMessage(status: .noError, syncState: "H4s=",
            includesLastItemInRange: false, changes: [
                EWSItemChange(kind: .create, itemID: EWSItemID(id: "a", changeKey: "1"), itemType: "Message"),
                EWSItemChange(kind: .update, itemID: EWSItemID(id: "b", changeKey: "2"), itemType: "CalendarItem"),
                EWSItemChange(kind: .delete, itemID: EWSItemID(id: "c")),
                EWSItemChange(kind: .readFlagChange, itemID: EWSItemID(id: "d"), isRead: true),
            ])]),
        .syncFolderItems([SyncFolderItemsResponseMessage(status: throttled, syncState: nil,
            includesLastItemInRange: nil, changes: [])]),
        .syncFolderHierarchy([SyncFolderHierarchyResponseMessage(status: .noError, syncState: "S",
            includesLastFolderInRange: true, changes: [
                EWSFolderChange(kind: .create, folder: EWSFolder(folderType: "Folder", folderID: EWSItemID(id: "f1"),
                    parentFolderID: EWSItemID(id: "root"), displayName: "Inbox", folderClass: "IPF.Note")),
                EWSFolderChange(kind: .delete, folder: EWSFolder(folderType: "Folder", folderID: EWSItemID(id: "f2"))),
            ])]),
        .getFolder([GetFolderResponseMessage(status: .noError, folders: [
            EWSFolder(folderType: "Folder", folderID: EWSItemID(id: "INBOX", changeKey: "AQ"), displayName: "Inbox")])]),
        .getItem([
            GetItemResponseMessage(status: .noError, items: [EWSItem(itemType: "Message",
                itemID: EWSItemID(id: "i1", changeKey: "c1"), parentFolderID: EWSItemID(id: "p"), subject: "Q3 <&>",
                sender: EWSItem.Mailbox(name: "Ann", emailAddress: "ann@contoso.com"),
                dateTimeReceived: "2024-05-01T10:00:00Z", size: 1234, hasAttachments: false, isRead: true)]),
            GetItemResponseMessage(status: EWSResponseStatus(responseClass: .error, responseCode: "ErrorItemNotFound",
                messageText: "The specified object was not found in the store."), items: []),
        ]),
    ]

    static func write(_ response: EWSResponse) -> Data {
        switch response {
        case .subscribe(let messages): EWSResponseWriter.subscribe(messages)
        case .unsubscribe(let messages): EWSResponseWriter.unsubscribe(messages)
        case .syncFolderItems(let messages): EWSResponseWriter.syncFolderItems(messages)
        case .syncFolderHierarchy(let messages): EWSResponseWriter.syncFolderHierarchy(messages)
        case .getFolder(let messages): EWSResponseWriter.getFolder(messages)
        case .getItem(let messages): EWSResponseWriter.getItem(messages)
        case .fault(let fault): EWSResponseWriter.fault(fault)
        default: Data()
        }
    }

    @Test(.requiresSchema) func writtenResponsesValidateAndRoundTrip() throws {
        for response in Self.responses {
            let data = Self.write(response)
            let outcome = try SchemaValidator.validate(data)
            #expect(outcome.passed, "\(response.operation!): \(outcome.output)")
            #expect(try decoder.decode(data, as: response.operation!) == response)
        }
    }

    @Test func autodiscoverResponseRoundTrips() throws {
        let response = GetUserSettingsResponse(errorCode: "NoError", errorMessage: nil, userResponses: [
            .init(errorCode: "NoError", errorMessage: nil, redirectTarget: nil,
                settings: ["ExternalEwsUrl": "https://mail.contoso.com/EWS/Exchange.asmx", "GroupingInformation": "G&1"],
                settingErrors: [:]),
            .init(errorCode: "InvalidUser", errorMessage: "Invalid user", redirectTarget: nil, settings: [:],
                settingErrors: ["GroupingInformation": "SettingIsNotAvailable"]),
        ])
        let data = EWSResponseWriter.getUserSettings(response)
        #expect(try decoder.decode(data, as: .getUserSettings) == .getUserSettings(response))
    }

    @Test(.requiresSchema) func faultValidatesAndRoundTrips() throws {
        let fault = EWSSOAPFault(faultCode: "a:ErrorServerBusy", faultString: "Try again later.",
            responseCode: "ErrorServerBusy", message: "Try again later.", messageXML: ["BackOffMilliseconds": "178510"])
        let data = EWSResponseWriter.fault(fault)
        #expect(try SchemaValidator.validate(data).passed)
        #expect(try decoder.decode(data, as: .getItem) == .fault(fault))
    }

    @Test(.requiresSchema) func streamingEnvelopesValidateAgainstWireSchemaAndDecode() throws {
        let envelopes = StreamingEventDecoderTests.expected()
        var body = Data()
        for envelope in envelopes {
            let data = EWSResponseWriter.streaming(envelope)
            let outcome = try SchemaValidator.validate(data, schema: "wire-compat/soap11-envelope.xsd")
            #expect(outcome.passed, "\(envelope): \(outcome.output)")
            body.append(data)
        }
        // Back to back, split everywhere, like a real chunked body.
        let bytes = [UInt8](body)
        for split in stride(from: 0, through: bytes.count, by: 7) {
            #expect(try StreamingEventDecoderTests.decodeInChunks(bytes, splits: [split]) == envelopes)
        }
    }
}
