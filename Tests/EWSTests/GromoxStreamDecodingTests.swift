import Foundation
import Testing

@testable import EWS

/// Real GetStreamingEvents bodies captured from gromox 3.10 (Fixtures/README.md), through both
/// decoders: the streaming one (flat, the hot path) and the one-shot tree decoder. What makes a
/// message an error is its ResponseClass/ResponseCode, never an element that is merely present.
@Suite struct GromoxStreamDecodingTests {
    static func both(_ fixture: String) throws -> [StreamingEnvelope] {
        let data = try TestPaths.fixture(fixture)
        let streamed = try StreamingEventDecoderTests.decodeInChunks([UInt8](data), splits: [])
        guard case .getStreamingEvents(let tree) = try EWSResponseDecoder().decode(data, as: .getStreamingEvents) else {
            Issue.record("not a GetStreamingEvents body")
            return []
        }
        #expect(streamed == tree, "the two decoders agree")
        return streamed
    }

    @Test func successMessagesWithEmptyListsAreHeartbeatsNotErrors() throws {
        let envelopes = try Self.both("gromox-stream-single-folder.xml")
        #expect(!envelopes.contains { if case .error = $0 { true } else { false } })
        // Five messages, each with ConnectionStatus OK; four of them carry notifications too.
        #expect(envelopes.filter { $0 == .heartbeat }.count == 5)
        let notifications = envelopes.compactMap { if case .notifications(let n) = $0 { n } else { nil } }
        #expect(notifications.count == 4)
        let events = notifications.flatMap { $0.flatMap(\.events) }
        #expect(events.filter { $0.kind == .newMail }.count == 2)
        #expect(notifications.allSatisfy { $0.allSatisfy { $0.moreEvents == false } })
        // The read, the move out and the delete: only folder-level ModifiedEvents of the inbox.
        let later = notifications.dropFirst().flatMap { $0.flatMap(\.events) }
        #expect(later.allSatisfy { $0.kind == .modified && $0.folderID != nil && $0.itemID == nil })
        #expect(Set(later.compactMap(\.folderID?.id)).count == 1)
    }

    @Test func splitAtEveryOffsetTheGromoxBodyDecodesTheSame() throws {
        let body = [UInt8](try TestPaths.fixture("gromox-stream-single-folder.xml"))
        let whole = try StreamingEventDecoderTests.decodeInChunks(body, splits: [])
        for split in stride(from: 1, to: body.count, by: 3) {
            #expect(try StreamingEventDecoderTests.decodeInChunks(body, splits: [split]) == whole)
        }
    }

    @Test func aRefusalNamesItsIdWithoutANamespaceAndNotificationsForTheOthersStillArrive() throws {
        let envelopes = try Self.both("gromox-stream-grouped-refusal.xml")
        let refused = StreamingSubscriptionError(
            status: EWSResponseStatus(responseClass: .error, responseCode: "ErrorInvalidSubscription",
                                      messageText: "Subscription is invalid."),
            subscriptionIDs: ["BAAAAAUAAAA="])
        #expect(envelopes.count == 5)
        #expect(envelopes[0] == .error(refused))
        #expect(envelopes[1] == .closed)
        guard case .notifications(let notes) = envelopes[2] else {
            Issue.record("expected the other subscription's notifications, got \(envelopes[2])")
            return
        }
        #expect(notes.map(\.subscriptionID) == ["AwAAAAUAAAA="])
        #expect(envelopes[3] == .error(refused))
        #expect(envelopes[4] == .heartbeat)
    }

    @Test func anErrorMessageWithNoIdIsConnectionLevelAndAnEmptyListIsNoError() throws {
        let soap = "http://schemas.xmlsoap.org/soap/envelope/"
        let m = "http://schemas.microsoft.com/exchange/services/2006/messages"
        func message(_ cls: String, _ code: String, _ inner: String) -> String {
            "<S:Envelope xmlns:S=\"\(soap)\"><S:Body><m:GetStreamingEventsResponse xmlns:m=\"\(m)\"><m:ResponseMessages>"
                + "<m:GetStreamingEventsResponseMessage ResponseClass=\"\(cls)\"><m:ResponseCode>\(code)</m:ResponseCode>"
                + inner + "</m:GetStreamingEventsResponseMessage></m:ResponseMessages></m:GetStreamingEventsResponse></S:Body></S:Envelope>"
        }
        let body = message("Error", "ErrorServerBusy", "<m:ErrorSubscriptionIds/>")
            + message("Success", "NoError", "<m:Notifications/><m:ErrorSubscriptionIds/>")
        let decoded = try StreamingEventDecoderTests.decodeInChunks(Array(body.utf8), splits: [])
        guard case .error(let error)? = decoded.first else {
            Issue.record("expected an error, got \(decoded)")
            return
        }
        #expect(error.isConnectionLevel)
        #expect(decoded.count == 1, "a Success message with empty lists and no status yields nothing")
    }
}
