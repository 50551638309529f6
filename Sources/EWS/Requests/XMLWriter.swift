/// Minimal XML text writer for requests and (simulator) responses. Every text and attribute
/// value goes through escaping; names are trusted literals from this module's code.
public struct XMLWriter: Sendable {
    public private(set) var output: String = ""

    public init(capacity: Int = 1024) { output.reserveCapacity(capacity) }

    public mutating func declaration() { output += "<?xml version=\"1.0\" encoding=\"utf-8\"?>" }

    /// Opens `<name attr="v" ...>`; `attributes` may include `xmlns:*` declarations.
    public mutating func open(_ name: String, _ attributes: KeyValuePairs<String, String?> = [:]) {
        writeStart(name, attributes)
        output += ">"
    }

    public mutating func close(_ name: String) {
        output += "</"
        output += name
        output += ">"
    }

    /// `<name attrs/>`.
    public mutating func empty(_ name: String, _ attributes: KeyValuePairs<String, String?> = [:]) {
        writeStart(name, attributes)
        output += "/>"
    }

    /// `<name>text</name>` with the text escaped.
    public mutating func element(_ name: String, _ text: String, _ attributes: KeyValuePairs<String, String?> = [:]) {
        open(name, attributes)
        output += Self.escape(text)
        close(name)
    }

    /// Appends escaped character data.
    public mutating func text(_ text: String) { output += Self.escape(text) }

    private mutating func writeStart(_ name: String, _ attributes: KeyValuePairs<String, String?>) {
        output += "<"
        output += name
        for (key, value) in attributes {
            guard let value else { continue }
            output += " "
            output += key
            output += "=\""
            output += Self.escape(value, attribute: true)
            output += "\""
        }
    }

    /// Escapes `&`, `<`, `>` (and quotes/whitespace controls in attributes). Characters that XML 1.0
    /// cannot carry at all (C0 controls other than tab/LF/CR, U+FFFE/U+FFFF) become U+FFFD: EWS
    /// ids and addresses never contain them, and emitting them would make the request unparseable.
    public static func escape(_ text: String, attribute: Bool = false) -> String {
        var needsWork = false
        for byte in text.utf8 where byte < 0x20 || byte == 0x26 || byte == 0x3C || byte == 0x3E
            || byte == 0x22 || byte == 0x27 || byte == 0xEF
        {
            needsWork = true
            break
        }
        guard needsWork else { return text }
        var result = ""
        result.reserveCapacity(text.utf8.count + 16)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": result += "&amp;"
            case "<": result += "&lt;"
            case ">": result += "&gt;"
            case "\"" where attribute: result += "&quot;"
            case "'" where attribute: result += "&apos;"
            case "\t" where attribute: result += "&#9;"
            case "\n" where attribute: result += "&#10;"
            case "\r": result += "&#13;"
            case "\t", "\n": result.unicodeScalars.append(scalar)
            case "\u{FFFE}", "\u{FFFF}": result += "\u{FFFD}"
            default:
                if scalar.value < 0x20 { result += "\u{FFFD}" } else { result.unicodeScalars.append(scalar) }
            }
        }
        return result
    }
}
