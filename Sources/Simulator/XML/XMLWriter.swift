/// A tiny append-only XML writer. ews-sim builds every response with it instead of the codec's
/// builders, so the simulator cannot share a serialisation mistake with the client under test.
///
/// `.compact` writes exactly what it is told (Exchange's one-line responses). `.tinyxml` writes
/// what gromox's tinyxml2 `XMLPrinter` writes: `<a/>` for an element without content and, when
/// pretty, a newline and four spaces per level before every start tag (text stays on the line of
/// its element) and a newline after the root element.
struct XMLWriter: Sendable {
    enum Style: Sendable, Equatable { case compact, tinyxml(pretty: Bool) }

    private(set) var output: String = ""
    let style: Style
    // tinyxml2's printer state (tinyxml only).
    private var depth = 0
    private var elementJustOpened = false
    private var firstElement = true
    private var textDepth = -1
    private var stack: [String] = []

    init(capacity: Int = 1024, style: Style = .compact) {
        self.style = style
        output.reserveCapacity(capacity)
    }

    /// `<?xml version="1.0" encoding="UTF-8"?>` as tinyxml2 writes it (tinyxml only).
    mutating func declaration() {
        sealIfJustOpened()
        if textDepth < 0 && !firstElement { newline(depth) }
        firstElement = false
        output += "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
    }

    /// `<name a="v">` — attribute values are escaped.
    mutating func open(_ name: String, _ attributes: KeyValuePairs<String, String> = [:]) {
        guard case .tinyxml = style else {
            output += "<" + name
            appendAttributes(attributes)
            output += ">"
            return
        }
        sealIfJustOpened()
        stack.append(name)
        if textDepth < 0 && !firstElement { newline(depth) }
        output += "<" + name
        appendAttributes(attributes)
        elementJustOpened = true
        firstElement = false
        depth += 1
    }

    mutating func close(_ name: String) {
        guard case .tinyxml = style else {
            output += "</" + name + ">"
            return
        }
        depth -= 1
        let open = stack.removeLast()
        if elementJustOpened {
            output += "/>"
        } else {
            if textDepth < 0 { newline(depth) }
            output += "</" + open + ">"
        }
        if textDepth == depth { textDepth = -1 }
        if depth == 0 && pretty { output += "\n" }
        elementJustOpened = false
    }

    /// `<name a="v"/>`
    mutating func empty(_ name: String, _ attributes: KeyValuePairs<String, String> = [:]) {
        guard case .tinyxml = style else {
            output += "<" + name
            appendAttributes(attributes)
            output += "/>"
            return
        }
        open(name, attributes)
        close(name)
    }

    /// `<name>text</name>` — text is escaped.
    mutating func element(_ name: String, _ text: String, _ attributes: KeyValuePairs<String, String> = [:]) {
        open(name, attributes)
        self.text(text)
        close(name)
    }

    mutating func element(_ name: String, _ attributes: KeyValuePairs<String, String> = [:], body: (inout XMLWriter) -> Void) {
        open(name, attributes)
        body(&self)
        close(name)
    }

    mutating func text(_ text: String) {
        if case .tinyxml = style {
            textDepth = depth - 1
            sealIfJustOpened()
        }
        output += XMLWriter.escape(text)
    }

    /// Appends already-serialised markup (used for fixed envelope parts).
    mutating func raw(_ markup: String) {
        sealIfJustOpened()
        output += markup
    }

    private mutating func sealIfJustOpened() {
        guard elementJustOpened else { return }
        elementJustOpened = false
        output += ">"
    }

    private var pretty: Bool { style == .tinyxml(pretty: true) }

    private mutating func newline(_ level: Int) {
        guard pretty else { return }
        output += "\n" + String(repeating: "    ", count: level)
    }

    private mutating func appendAttributes(_ attributes: KeyValuePairs<String, String>) {
        for (key, value) in attributes {
            var escaped = XMLWriter.escape(value, attribute: true)
            // tinyxml2 also escapes apostrophes in attribute values.
            if style != .compact, escaped.contains("'") { escaped = escaped.replacingOccurrences(of: "'", with: "&apos;") }
            output += " " + key + "=\"" + escaped + "\""
        }
    }

    /// Escapes markup characters; in attributes also quotes and whitespace that would be normalised.
    /// Characters not allowed in XML 1.0 are dropped rather than emitted as invalid documents.
    static func escape(_ value: String, attribute: Bool = false) -> String {
        var needs = false
        for scalar in value.unicodeScalars {
            switch scalar {
            case "<", ">", "&", "\"", "\t", "\n", "\r": needs = true
            default: if scalar.value < 0x20 || scalar.value == 0xFFFE || scalar.value == 0xFFFF { needs = true }
            }
            if needs { break }
        }
        guard needs else { return value }
        var result = String.UnicodeScalarView()
        for scalar in value.unicodeScalars {
            switch scalar {
            case "<": result.append(contentsOf: "&lt;".unicodeScalars)
            case ">": result.append(contentsOf: "&gt;".unicodeScalars)
            case "&": result.append(contentsOf: "&amp;".unicodeScalars)
            case "\"": result.append(contentsOf: (attribute ? "&quot;" : "\"").unicodeScalars)
            case "\t": result.append(contentsOf: (attribute ? "&#9;" : "\t").unicodeScalars)
            case "\n": result.append(contentsOf: (attribute ? "&#10;" : "\n").unicodeScalars)
            case "\r": result.append(contentsOf: "&#13;".unicodeScalars)
            default:
                if scalar.value < 0x20 || scalar.value == 0xFFFE || scalar.value == 0xFFFF { continue }
                result.append(scalar)
            }
        }
        return String(result)
    }
}

import Foundation
