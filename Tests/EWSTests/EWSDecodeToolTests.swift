import Foundation
import Testing

@testable import EWS

@Suite struct EWSDecodeToolTests {
    @Test func streamBodyGivesOneLinePerMessage() throws {
        let lines = try EWSDecodeTool.jsonLines(try TestPaths.fixture("stream-body.xml"))
        #expect(lines.count == 4)
        #expect(lines[0] == #"{"kind":"heartbeat","operation":"GetStreamingEvents"}"#)
        #expect(lines[1].contains(#""kind":"notifications""#))
        #expect(lines[1].contains(#""subscriptionID":"SUB-B""#))
        #expect(lines[2].contains(#""responseCode":"ErrorInvalidSubscription""#))
        #expect(lines[2].contains(#""action":"resubscribe""#))
        #expect(lines[3] == #"{"kind":"closed","operation":"GetStreamingEvents"}"#)
        for line in lines {
            #expect(!line.contains("\n"))
            _ = try JSONSerialization.jsonObject(with: Data(line.utf8))
        }
    }

    @Test func capturedResponseGivesOneLine() throws {
        let lines = try EWSDecodeTool.jsonLines(try TestPaths.fixture("15-getitem-batch-partial-failure.xml"))
        #expect(lines.count == 1)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as? [String: Any])
        #expect(object["operation"] as? String == "GetItem")
        #expect((object["messages"] as? [Any])?.count == 2)
    }

    @Test func malformedInputThrowsAfterEmittingEarlierLines() throws {
        var data = try TestPaths.fixture("07-getstreamingevents-heartbeat-ok.xml")
        data.append(Data("<Envelope><x></y>".utf8))
        var lines: [String] = []
        #expect(throws: EWSDecodingError.self) { try EWSDecodeTool.decode(data) { lines.append($0) } }
        #expect(lines.count == 1)
    }
}
