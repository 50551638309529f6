import Foundation
import Synchronization
import Testing

@testable import EWS

@Suite struct StreamingEventDecoderTests {
    static func expected() -> [StreamingEnvelope] {
        let inbox = EWSItemID(id: "INBOX", changeKey: "AQAAAA==")
        let item = EWSItemID(id: "AAMk&€1", changeKey: "CQAAAA==")
        return [
            .heartbeat,
            .notifications([
                SubscriptionNotification(subscriptionID: "SUB-A", events: [
                    StreamingEvent(kind: .created, timeStamp: "2013-09-16T04:31:29Z", itemID: item, parentFolderID: inbox),
                    StreamingEvent(kind: .newMail, watermark: "WM1", timeStamp: "2013-09-16T04:31:30Z", itemID: item,
                        parentFolderID: inbox),
                    StreamingEvent(kind: .modified, timeStamp: "2013-09-16T04:31:31Z",
                        folderID: EWSItemID(id: "INBOX", changeKey: "AQAAAB=="), parentFolderID: EWSItemID(id: "ROOT"),
                        unreadCount: 3),
                ]),
                SubscriptionNotification(subscriptionID: "SUB-B", events: [
                    StreamingEvent(kind: .moved, timeStamp: "2013-09-16T04:31:32Z",
                        itemID: EWSItemID(id: "NEW1", changeKey: "CK2"), parentFolderID: EWSItemID(id: "DELETED"),
                        oldItemID: EWSItemID(id: "OLD1", changeKey: "CK1"), oldParentFolderID: EWSItemID(id: "INBOX")),
                    StreamingEvent(kind: .copied, timeStamp: "2013-09-16T04:31:33Z", folderID: EWSItemID(id: "F2"),
                        parentFolderID: EWSItemID(id: "ROOT"), oldFolderID: EWSItemID(id: "F1"),
                        oldParentFolderID: EWSItemID(id: "ROOT")),
                    StreamingEvent(kind: .deleted, timeStamp: "2013-09-16T04:31:34Z", itemID: EWSItemID(id: "GONE"),
                        parentFolderID: EWSItemID(id: "INBOX")),
                    StreamingEvent(kind: .freeBusyChanged, timeStamp: "2013-09-16T04:31:35Z",
                        itemID: EWSItemID(id: "CAL1"), parentFolderID: EWSItemID(id: "CAL")),
                    StreamingEvent(kind: .status, watermark: "WM9"),
                ]),
            ]),
            .error(StreamingSubscriptionError(
                status: EWSResponseStatus(responseClass: .error, responseCode: "ErrorInvalidSubscription",
                    messageText: "Subscription is invalid."),
                subscriptionIDs: ["SUB-C", "SUB-D"])),
            .closed,
        ]
    }

    static func decodeInChunks(_ body: [UInt8], splits: [Int]) throws -> [StreamingEnvelope] {
        let decoder = StreamingEventDecoder()
        var output: [StreamingEnvelope] = []
        var start = 0
        for split in splits + [body.count] {
            output += try decoder.feed(body[start..<split])
            start = split
        }
        try decoder.finish()
        return output
    }

    @Test func decodesMultiEnvelopeBodyInOneChunk() throws {
        let body = [UInt8](try TestPaths.fixture("stream-body.xml"))
        #expect(try Self.decodeInChunks(body, splits: []) == Self.expected())
    }

    @Test func splitAtEveryByteOffsetDecodesIdentically() throws {
        let body = [UInt8](try TestPaths.fixture("stream-body.xml"))
        let expected = Self.expected()
        for offset in 0...body.count {
            let decoded = try Self.decodeInChunks(body, splits: [offset])
            if decoded != expected {
                Issue.record("split at \(offset) decoded differently")
                return
            }
        }
    }

    @Test func byteByByteAndThreeWaySplitsDecodeIdentically() throws {
        let body = [UInt8](try TestPaths.fixture("stream-body.xml"))
        #expect(try Self.decodeInChunks(body, splits: Array(1..<body.count)) == Self.expected())
        for first in stride(from: 0, to: body.count, by: 97) {
            for second in stride(from: first, to: body.count, by: 389) {
                #expect(try Self.decodeInChunks(body, splits: [first, second]) == Self.expected())
            }
        }
    }

    @Test func decodersOnSeveralThreadsAtOnce() throws {
        let body = [UInt8](try TestPaths.fixture("stream-body.xml"))
        let expected = Self.expected()
        let results = Mutex<[Bool]>([])
        DispatchQueue.concurrentPerform(iterations: 8) { index in
            let ok = (try? Self.decodeInChunks(body, splits: [index * 301 % body.count])) == expected
            results.withLock { $0.append(ok) }
        }
        #expect(results.withLock { $0 } == Array(repeating: true, count: 8))
    }

    @Test func envelopeIsYieldedAsSoonAsItsEndTagArrives() throws {
        let heartbeat = [UInt8](try TestPaths.fixture("07-getstreamingevents-heartbeat-ok.xml"))
        let decoder = StreamingEventDecoder()
        let withoutLastByte = heartbeat.lastIndex(of: UInt8(ascii: ">"))!
        #expect(try decoder.feed(heartbeat[..<withoutLastByte]).isEmpty)
        #expect(try decoder.feed(heartbeat[withoutLastByte...]) == [.heartbeat])
        // A second, truncated envelope: finish() must report it.
        _ = try decoder.feed(heartbeat[..<100])
        #expect(throws: EWSDecodingError.self) { try decoder.finish() }
    }

    @Test func manyEnvelopesInOneChunkWithDeclarationsAndWhitespace() throws {
        let heartbeat = try String(decoding: TestPaths.fixture("07-getstreamingevents-heartbeat-ok.xml"), as: UTF8.self)
        let closed = try String(decoding: TestPaths.fixture("08-getstreamingevents-closed.xml"), as: UTF8.self)
        let body = heartbeat + heartbeat + "\r\n<?xml version=\"1.0\"?>\n" + heartbeat + "  " + closed
        let decoder = StreamingEventDecoder()
        #expect(try decoder.feed(Array(body.utf8)) == [.heartbeat, .heartbeat, .heartbeat, .closed])
        try decoder.finish()
    }

    @Test func errorAfterGoodEnvelopesInSameChunkIsDeferred() throws {
        let heartbeat = try String(decoding: TestPaths.fixture("07-getstreamingevents-heartbeat-ok.xml"), as: UTF8.self)
        let decoder = StreamingEventDecoder()
        #expect(try decoder.feed(Array((heartbeat + "<Envelope><a></b></Envelope>").utf8)) == [.heartbeat])
        #expect(throws: EWSDecodingError.self) { try decoder.feed(Array(heartbeat.utf8)) }
    }

    @Test func oldStyleErrorWithClosedInOneMessage() throws {
        let xml = """
            <soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>
            <GetStreamingEventsResponse xmlns="http://schemas.microsoft.com/exchange/services/2006/messages">
            <ResponseMessages><GetStreamingEventsResponseMessage ResponseClass="Error">
            <MessageText>Subscription is invalid.</MessageText><ResponseCode>ErrorInvalidSubscription</ResponseCode>
            <DescriptiveLinkKey>0</DescriptiveLinkKey><ErrorSubscriptionIds><SubscriptionId>X</SubscriptionId></ErrorSubscriptionIds>
            <ConnectionStatus>Closed</ConnectionStatus></GetStreamingEventsResponseMessage></ResponseMessages>
            </GetStreamingEventsResponse></soap:Body></soap:Envelope>
            """
        let decoded = try StreamingEventDecoder().feed(Array(xml.utf8))
        #expect(decoded.count == 2)
        guard case .error(let error) = decoded.first else { Issue.record("no error"); return }
        #expect(error.subscriptionIDs == ["X"])
        #expect(EWSActionTable.action(for: error).action == .resubscribe(rediscover: false))
        #expect(decoded.last == .closed)
    }

    @Test func connectionLevelErrorAndFaultInStream() throws {
        let xml = """
            <s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><m:GetStreamingEventsResponse
             xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages"><m:ResponseMessages>
            <m:GetStreamingEventsResponseMessage ResponseClass="Error"><m:MessageText>You have exceeded the available concurrent connections for your account.</m:MessageText>
            <m:ResponseCode>ErrorExceededConnectionCount</m:ResponseCode><m:MessageXml>
            <t:Value xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types" Name="Policy">MaxConcurrency</t:Value>
            <t:Value xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types" Name="MaxConcurrencyLimit">27</t:Value>
            </m:MessageXml></m:GetStreamingEventsResponseMessage></m:ResponseMessages></m:GetStreamingEventsResponse>
            </s:Body></s:Envelope><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><s:Fault>
            <faultcode>s:Client</faultcode><faultstring>bad</faultstring></s:Fault></s:Body></s:Envelope>
            """
        let decoded = try StreamingEventDecoder().feed(Array(xml.utf8))
        guard case .error(let error) = decoded.first, case .fault(let fault) = decoded.last else {
            Issue.record("\(decoded)"); return
        }
        #expect(error.isConnectionLevel)
        #expect(error.status.messageXML == ["Policy": "MaxConcurrency", "MaxConcurrencyLimit": "27"])
        #expect(EWSActionTable.action(for: error).action
            == .reduceConcurrency(EWSRetryHint(budget: .concurrency, policy: "MaxConcurrency")))
        #expect(fault.faultCode == "s:Client")
        #expect(EWSActionTable.action(for: fault).isUnknown)
    }
}
