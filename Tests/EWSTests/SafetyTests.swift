import Foundation
import Testing

@testable import EWS

@Suite struct SafetyTests {
    static let billionLaughs = """
        <?xml version="1.0"?>
        <!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
        <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
        <Envelope xmlns="http://schemas.xmlsoap.org/soap/envelope/">&lol3;</Envelope>
        """
    static let xxe = """
        <!DOCTYPE foo [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><Envelope>&xxe;</Envelope>
        """

    static func streamError(_ text: String, limits: XMLParserLimits = .default) -> EWSDecodingError? {
        streamError(Array(text.utf8), limits: limits)
    }

    static func streamError(_ bytes: [UInt8], limits: XMLParserLimits = .default) -> EWSDecodingError? {
        do {
            _ = try EWSXMLDocument.parseAll(Data(bytes), limits: limits)
            return nil
        } catch {
            return error
        }
    }

    @Test func doctypeIsRejectedOutright() throws {
        for (document, offset) in [(Self.billionLaughs, 22), (Self.xxe, 0)] {
            let error = try #require(Self.streamError(document))
            #expect(error.code == .doctypeForbidden)
            // Rejected at the '<' of "<!DOCTYPE": before any entity declaration is even read.
            #expect(error.offset == offset)
            #expect(error.expected.contains("DOCTYPE"))
            #expect(throws: EWSDecodingError.self) { try EWSXMLDocument.parse(Data(document.utf8)) }
        }
        // Also between envelopes.
        let heartbeat = try String(decoding: TestPaths.fixture("07-getstreamingevents-heartbeat-ok.xml"), as: UTF8.self)
        let error = try #require(Self.streamError(heartbeat + Self.xxe))
        #expect(error.code == .doctypeForbidden)
        #expect(error.offset == heartbeat.utf8.count)
    }

    @Test func undeclaredEntityIsAnError() throws {
        let error = try #require(Self.streamError("<Envelope>&xxe;</Envelope>"))
        #expect(error.code == .malformedXML)
        #expect(error.detail.contains("xxe"))
    }

    @Test func envelopeSizeLimit() throws {
        let big = "<Envelope>" + String(repeating: "a", count: 2000) + "</Envelope>"
        let error = try #require(Self.streamError(big, limits: XMLParserLimits(maxEnvelopeBytes: 1000)))
        #expect(error.code == .envelopeTooLarge)
        #expect(error.offset == 1000)
        #expect(Self.streamError(big, limits: XMLParserLimits(maxEnvelopeBytes: 4000)) == nil)
    }

    @Test func nestingDepthLimit() throws {
        let deep = String(repeating: "<a>", count: 300) + String(repeating: "</a>", count: 300)
        let error = try #require(Self.streamError(deep))
        #expect(error.code == .nestingTooDeep)
        #expect(error.expected.contains("256"))
        let shallow = String(repeating: "<a>", count: 20) + String(repeating: "</a>", count: 20)
        #expect(Self.streamError(shallow, limits: XMLParserLimits(maxDepth: 10))?.code == .nestingTooDeep)
        // Raising the limit above libxml2's own 256 works too.
        #expect(Self.streamError(deep, limits: XMLParserLimits(maxDepth: 400)) == nil)
    }

    @Test func invalidUTF8IsRejected() throws {
        var bytes = Array("<Envelope><a>ok".utf8)
        bytes += [0xC3, 0x28]  // invalid continuation byte
        bytes += Array("</a></Envelope>".utf8)
        let error = try #require(Self.streamError(bytes))
        #expect(error.code == .invalidUTF8)
        #expect(error.offset > 0)
    }

    @Test func invalidUTF8BetweenEnvelopesIsRejected() throws {
        let good = Array("<?xml version=\"1.0\"?><!-- Grüße ✓ --><a/>".utf8)
        #expect(Self.streamError([0xEF, 0xBB, 0xBF] + good) == nil)
        for bad: [UInt8] in [[0xC3, 0x28], [0xE0, 0x80, 0x80], [0xED, 0xA0, 0x80], [0xF5, 0x80], [0xFF]] {
            let comment = Array("<a/><!-- ".utf8) + bad + Array(" --><a/>".utf8)
            let error = Self.streamError(comment)
            #expect(error?.code == .invalidUTF8, "\(bad)")
            #expect(error?.offset == 9 || error?.offset == 10)
        }
        #expect(Self.streamError([0xEF, 0xBB] + good)?.code == .invalidUTF8)
    }

    @Test func malformedInputsGiveErrorsWithOffsets() throws {
        let cases: [(String, EWSDecodingError.Code)] = [
            ("<Envelope><a></b></Envelope>", .malformedXML),
            ("junk<Envelope/>", .unexpectedContent),
            ("<Envelope a='1' a='2'/>", .malformedXML),
            ("<Envelope><![CDATA[x]]></Envelope><![CDATA[y]]>", .unexpectedContent),
            ("<Envelope>", .truncated),
            ("<!-- open comment", .truncated),
            ("</Envelope>", .unexpectedContent),
            ("<Envelope xmlns:a='urn:x'><b:c/></Envelope>", .malformedXML),
        ]
        for (input, code) in cases {
            let error = Self.streamError(input)
            #expect(error?.code == code, "\(input): \(String(describing: error))")
            #expect(!(error?.expected.isEmpty ?? true))
        }
    }

    @Test func libxml2WarningsAreNotErrors() throws {
        // A relative namespace URI is only a libxml2 warning; entities and char refs are fine.
        let root = try EWSXMLDocument.parse(Data("""
            <?xml version="1.0" encoding="ISO-8859-1"?><Envelope xmlns:a="relative"><a:b x="&lt;&#38;&#x263A;">&amp;&#65;</a:b></Envelope>
            """.utf8))
        #expect(root.children.first?.name == XMLName("relative", "b"))
        #expect(root.children.first?.attribute("x") == "<&\u{263A}")
        #expect(root.children.first?.text == "&A")
    }

    @Test func uniqueNamesDoNotAccumulateAcrossDocuments() throws {
        // More distinct names than the parser keeps interned: it must start a fresh libxml2
        // context (and name table) without mixing up names.
        var text = ""
        for index in 0..<6000 { text += "<r\(index) xmlns=\"urn:\(index % 7)\" a\(index)=\"v\(index)\"><c/></r\(index)>" }
        let roots = try EWSXMLDocument.parseAll(Data(text.utf8))
        #expect(roots.count == 6000)
        for index in [0, 4095, 4096, 4097, 5999] {
            #expect(roots[index].name == XMLName("urn:\(index % 7)", "r\(index)"))
            #expect(roots[index].attribute("a\(index)") == "v\(index)")
            #expect(roots[index].children.first?.name == XMLName("urn:\(index % 7)", "c"))
        }
    }

    @Test func decoderStaysFailedAfterAnError() throws {
        let decoder = StreamingEventDecoder()
        #expect(throws: EWSDecodingError.self) { try decoder.feed(Array("<!DOCTYPE x><Envelope/>".utf8)) }
        do {
            _ = try decoder.feed(Array("<Envelope/>".utf8))
            Issue.record("expected an error")
        } catch {
            #expect(error.code == .decoderClosed)
        }
    }

    @Test func hostileBytesNeverCrashAndFailDeterministically() throws {
        // Deterministic pseudo-random mutations of a real stream body.
        let body = [UInt8](try TestPaths.fixture("stream-body.xml"))
        var seed: UInt64 = 0x9E37_79B9_7F4A_7C15
        var failures = 0
        for _ in 0..<300 {
            var mutated = body
            for _ in 0..<4 {
                seed = seed &* 6364136223846793005 &+ 1442695040888963407
                let index = Int(seed >> 33) % mutated.count
                mutated[index] = UInt8(truncatingIfNeeded: seed >> 17)
            }
            let first = Self.streamError(mutated)
            #expect(first == Self.streamError(mutated))
            if first != nil { failures += 1 }
            _ = try? EWSResponseDecoder().decodeAll(Data(mutated))
        }
        #expect(failures > 0)
        #expect(Self.streamError(body) == nil)
    }
}
