import Testing
@testable import Simulator

/// The writer's three forms: Exchange's literal compact form and tinyxml2's (gromox's) two.
@Suite struct XMLWriterTests {
    func document(_ style: XMLWriter.Style) -> String {
        var w = XMLWriter(style: style)
        if style != .compact { w.declaration() }
        w.element("a:Root", ["x": "1"]) { w in
            w.element("a:Text", "v<&")
            w.element("a:Empty") { _ in }
            w.empty("a:Leaf", ["q": "it's"])
            w.element("a:Nested") { w in w.element("a:Deep", "d") }
        }
        return w.output
    }

    @Test func compactWritesWhatItIsTold() {
        #expect(document(.compact)
            == #"<a:Root x="1"><a:Text>v&lt;&amp;</a:Text><a:Empty></a:Empty><a:Leaf q="it's"/><a:Nested><a:Deep>d</a:Deep></a:Nested></a:Root>"#)
    }

    @Test func tinyxmlCompactCollapsesEmptyElements() {
        #expect(document(.tinyxml(pretty: false)) == #"<?xml version="1.0" encoding="UTF-8"?>"#
            + #"<a:Root x="1"><a:Text>v&lt;&amp;</a:Text><a:Empty/><a:Leaf q="it&apos;s"/><a:Nested><a:Deep>d</a:Deep></a:Nested></a:Root>"#)
    }

    @Test func tinyxmlPrettyIndentsFourSpacesAndEndsWithANewline() {
        #expect(document(.tinyxml(pretty: true)) == """
            <?xml version="1.0" encoding="UTF-8"?>
            <a:Root x="1">
                <a:Text>v&lt;&amp;</a:Text>
                <a:Empty/>
                <a:Leaf q="it&apos;s"/>
                <a:Nested>
                    <a:Deep>d</a:Deep>
                </a:Nested>
            </a:Root>

            """)
    }
}
