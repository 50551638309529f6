import NIOHTTP1

/// Normal responses and SOAP faults as gromox writes them: tinyxml2 documents with the `SOAP:`
/// prefix, its own ServerVersionInfo, `xmlns:m`/`xmlns:t` on the operation's response element,
/// `<a/>` for empty elements, compact by default (as captured from gromox 3.10) or pretty-printed
/// (`ews_pretty_response`, `SimConfiguration.gromoxPrettyPrint`).
enum GromoxEnvelope {
    /// gromox's `reported_server_version` default and the schema version it reports.
    static let serverVersion: KeyValuePairs<String, String> = [
        "xmlns:t": NS.types, "MajorVersion": "15", "MinorVersion": "0", "MajorBuildNumber": "847",
        "MinorBuildNumber": "4040", "Version": "V2017_07_11",
    ]
    static let xsd = "http://www.w3.org/2001/XMLSchema"

    /// `<SOAP:Envelope>` with the header opened and the body's operation element around `content`.
    static func document(declaration: Bool, pretty: Bool, capacity: Int = 2048,
                         _ content: (inout XMLWriter) -> Void) -> String {
        var w = XMLWriter(capacity: capacity, style: .tinyxml(pretty: pretty))
        if declaration { w.declaration() }
        w.element("SOAP:Envelope", ["xmlns:SOAP": NS.soap, "xmlns:xsi": NS.xsi, "xmlns:xsd": xsd]) { w in
            w.element("SOAP:Header") { w in w.empty("t:ServerVersionInfo", serverVersion) }
            w.element("SOAP:Body") { w in content(&w) }
        }
        return w.output
    }

    static func response(_ operation: String, pretty: Bool, _ messages: (inout XMLWriter) -> Void) -> String {
        document(declaration: true, pretty: pretty) { w in
            w.element("m:\(operation)Response", ["xmlns:m": NS.messages, "xmlns:t": NS.types]) { w in
                w.element("m:ResponseMessages") { w in messages(&w) }
            }
        }
    }

    /// gromox's HTTP layer refusing credentials (captured: 05f).
    static var unauthorized: SimResponse {
        var headers: HTTPHeaders = [:]
        headers.add(name: "WWW-Authenticate", value: "Basic realm=\"msrpc realm\", charset=\"utf-8\"")
        return .text(.unauthorized, "Unauthorized\r\n", headers: headers)
    }

    /// A request-level error (thrown before the operation ran, e.g. by impersonation, or a
    /// subscription id it cannot parse): gromox answers HTTP 200 with an always-compact fault whose
    /// faultcode is the EWS code itself, or `SOAP:Client` for input it cannot read.
    static func fault(code: String, message: String) -> String {
        var w = XMLWriter(capacity: 512, style: .tinyxml(pretty: false))
        w.open("SOAP:Envelope", ["xmlns:SOAP": NS.soap, "xmlns:xsi": NS.xsi, "xmlns:xsd": xsd])
        w.empty("SOAP:Header")
        w.element("SOAP:Body") { w in
            w.element("SOAP:Fault") { w in
                w.element("faultcode", code, ["xsi:type": "xsd:string"])
                w.element("faultstring", message, ["xsi:type": "xsd:string"])
            }
        }
        w.close("SOAP:Envelope")
        return w.output
    }
}
