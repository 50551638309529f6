/// A tiny append-only XML writer. ews-sim builds every response with it instead of the codec's
/// builders, so the simulator cannot share a serialisation mistake with the client under test.
struct XMLWriter: Sendable {
    private(set) var output: String = ""

    init(capacity: Int = 1024) {
        output.reserveCapacity(capacity)
    }

    /// `<name a="v">` — attribute values are escaped.
    mutating func open(_ name: String, _ attributes: KeyValuePairs<String, String> = [:]) {
        output += "<" + name
        appendAttributes(attributes)
        output += ">"
    }

    mutating func close(_ name: String) {
        output += "</" + name + ">"
    }

    /// `<name a="v"/>`
    mutating func empty(_ name: String, _ attributes: KeyValuePairs<String, String> = [:]) {
        output += "<" + name
        appendAttributes(attributes)
        output += "/>"
    }

    /// `<name>text</name>` — text is escaped.
    mutating func element(_ name: String, _ text: String, _ attributes: KeyValuePairs<String, String> = [:]) {
        open(name, attributes)
        output += XMLWriter.escape(text)
        close(name)
    }

    mutating func element(_ name: String, _ attributes: KeyValuePairs<String, String> = [:], body: (inout XMLWriter) -> Void) {
        open(name, attributes)
        body(&self)
        close(name)
    }

    mutating func text(_ text: String) {
        output += XMLWriter.escape(text)
    }

    /// Appends already-serialised markup (used for fixed envelope parts).
    mutating func raw(_ markup: String) {
        output += markup
    }

    private mutating func appendAttributes(_ attributes: KeyValuePairs<String, String>) {
        for (key, value) in attributes {
            output += " " + key + "=\"" + XMLWriter.escape(value, attribute: true) + "\""
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
