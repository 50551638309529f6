internal import CLibPQ

/// The parts of a connection URL / conninfo string that errors and logs may show, parsed by
/// libpq itself (`PQconninfoParse`, pure and non-blocking) so both syntaxes behave exactly as
/// libpq will treat them.
struct ConnInfo: Sendable, Equatable {
    var host: String?
    var hostaddr: String?
    var port: String?
    var dbname: String?
    var user: String?
    /// Kept only to scrub it out of libpq messages; never printed.
    var password: String?

    var target: String {
        let shownHost = nonEmpty(host) ?? nonEmpty(hostaddr) ?? "localhost"
        let shownPort = nonEmpty(port) ?? "5432"
        let shownDB = nonEmpty(dbname) ?? nonEmpty(user) ?? ""
        return "\(shownHost):\(shownPort)/\(shownDB)"
    }

    static func parse(_ url: String) throws(PostgresError) -> ConnInfo {
        var errorMessage: UnsafeMutablePointer<CChar>?
        guard let options = PQconninfoParse(url, &errorMessage) else {
            var reason = "cannot parse connection string"
            if let errorMessage {
                reason = redactQuoted(String(cString: errorMessage))
                PQfreemem(errorMessage)
            }
            throw PostgresError(
                code: .invalidConfiguration, message: reason, target: "<unparseable database URL>")
        }
        defer { PQconninfoFree(options) }
        var info = ConnInfo()
        var option = options
        while let keyword = option.pointee.keyword {
            if let value = option.pointee.val {
                let text = String(cString: value)
                switch String(cString: keyword) {
                case "host": info.host = text
                case "hostaddr": info.hostaddr = text
                case "port": info.port = text
                case "dbname": info.dbname = text
                case "user": info.user = text
                case "password": info.password = text
                default: break
                }
            }
            option += 1
        }
        return info
    }

    /// Removes the password from a libpq message, should libpq ever echo it.
    func redact(_ message: String) -> String {
        guard let password, password.count >= 3 else { return message }
        return message.replacing(password, with: "***")
    }

    /// libpq parse errors quote the offending token, which may be (part of) the password:
    /// drop everything between double quotes.
    static func redactQuoted(_ message: String) -> String {
        var out = ""
        var inQuote = false
        for character in message {
            if character == "\"" {
                inQuote.toggle()
                if inQuote { out += "\"…\"" }
            } else if !inQuote {
                out.append(character)
            }
        }
        return PostgresError.oneLine(out)
    }
}

private func nonEmpty(_ value: String?) -> String? {
    guard let value, !value.isEmpty else { return nil }
    return value
}
