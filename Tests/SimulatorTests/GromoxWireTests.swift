import Foundation
import Testing
@testable import Simulator

/// The gromox dialect against bytes captured from a real gromox 3.10 (`GromoxCaptures`).
@Suite struct GromoxWireTests {
    let mailbox = "user1@tenant1.example"
    static func gromox(_ configuration: inout SimConfiguration) { configuration.dialect = .gromox }

    @Test func subscribeAnswersWithGromoxsOwnBytes() async throws {
        try await SimFixture.with(Self.gromox) { sim in
            let response = try await sim.ews(Soap.subscribe(mailbox, folders: "<t:DistinguishedFolderId Id=\"inbox\"/>"))
            #expect(response.status == 200)
            #expect(response.body == GromoxCaptures.subscribeFirst)
            #expect(response.headers.first(name: "Content-Type") == "text/xml")
            #expect(response.headers["request-id"].isEmpty)
        }
    }

    @Test func theExchangeDialectKeepsItsOwnForm() async throws {
        try await SimFixture.with { sim in
            let response = try await sim.ews(Soap.subscribe(mailbox, folders: "<t:DistinguishedFolderId Id=\"inbox\"/>"))
            #expect(response.body.hasPrefix("<?xml version=\"1.0\" encoding=\"utf-8\"?><s:Envelope"))
            #expect(response.headers.first(name: "Content-Type") == "text/xml; charset=utf-8")
            #expect(!response.headers["request-id"].isEmpty)
        }
    }

    /// A whole idle stream with ConnectionTimeout 1: opened, a tick at 45 s, at 90 s the tick
    /// that notices the timeout, a goodbye, the end. The captured subscription was the 7th.
    @Test func anIdleStreamIsByteForByteGromoxs() async throws {
        try await SimFixture.with({ Self.gromox(&$0); $0.randomChunking = true }) { sim in
            var id = ""
            for _ in 1...7 { id = try await sim.subscribe(mailbox).id }
            #expect(id == "BwAAAAUAAAA=")
            let stream = try await sim.stream(Soap.getStreamingEvents([id], minutes: 1, impersonate: mailbox))
            let head = try await stream.readHead()
            #expect(head.headers.first(name: "Content-Type") == "text/xml")
            #expect(head.headers["X-NoBuffering"].isEmpty)
            #expect(await stream.nextEnvelope() == GromoxCaptures.streamOpened)
            await waitForSleeper(sim.clock)
            sim.clock.advance(by: .seconds(45))
            #expect(await stream.nextEnvelope() == GromoxCaptures.tickOK)
            // Exchange would close at 60 s; gromox only notices at its next tick.
            sim.clock.advance(by: .seconds(15))
            sim.clock.advance(by: .seconds(30))
            #expect(await stream.nextEnvelope() == GromoxCaptures.tickClosed)
            #expect(await stream.nextEnvelope() == GromoxCaptures.goodbye)
            #expect(await stream.nextEnvelope() == nil)
            #expect(stream.ended)
        }
    }

    /// An id nobody holds: Error + Closed at once, yet the stream stays open until the next
    /// tick, which repeats the refusal and says goodbye.
    @Test func anUnknownIdIsRefusedTwiceThenTheStreamEnds() async throws {
        try await SimFixture.with(Self.gromox) { sim in
            let stream = try await sim.stream(Soap.getStreamingEvents(["5wMAAAUAAAA="], minutes: 1, impersonate: mailbox))
            _ = try await stream.readHead()
            #expect(await stream.nextEnvelope() == GromoxCaptures.refusalFirst)
            await waitForSleeper(sim.clock)
            sim.clock.advance(by: .seconds(45))
            #expect(await stream.nextEnvelope() == GromoxCaptures.refusalAgain)
            #expect(await stream.nextEnvelope() == GromoxCaptures.goodbye)
            #expect(await stream.nextEnvelope() == nil)
        }
    }

    @Test func anIdGromoxCannotReadIsAFaultNotAStream() async throws {
        try await SimFixture.with(Self.gromox) { sim in
            let response = try await sim.ews(Soap.getStreamingEvents(["bogus-subscription-id"], impersonate: mailbox))
            #expect(response.status == 200)
            #expect(response.headers["Transfer-Encoding"].isEmpty)
            #expect(response.body == GromoxCaptures.malformedIdFault)
        }
    }

    @Test func prettyPrintingIsTinyxml2s() async throws {
        try await SimFixture.with({ Self.gromox(&$0); $0.gromoxPrettyPrint = true }) { sim in
            let body = try await sim.ews(Soap.subscribe(mailbox, folders: "<t:DistinguishedFolderId Id=\"inbox\"/>")).body
            #expect(body.hasPrefix("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<SOAP:Envelope "))
            #expect(body.contains("\n    <SOAP:Header>\n        <t:ServerVersionInfo "))
            #expect(body.contains("\n                <m:SubscribeResponseMessage ResponseClass=\"Success\">\n"
                + "                    <m:ResponseCode>NoError</m:ResponseCode>\n"))
            #expect(body.hasSuffix("</SOAP:Envelope>\n"))
            // Same document as the compact one, whitespace aside.
            let compact = body.split(separator: "\n").map { $0.drop { $0 == " " } }.joined()
            #expect(compact == GromoxCaptures.subscribeFirst)
        }
    }
}
