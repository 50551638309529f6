/// Normal (non-streaming) EWS response envelopes and SOAP faults, written by hand.
enum EWSEnvelope {
    static let serverVersionHeader =
        "<h:ServerVersionInfo MajorVersion=\"15\" MinorVersion=\"20\" MajorBuildNumber=\"7452\" MinorBuildNumber=\"50\" "
        + "Version=\"V2018_01_08\" xmlns:h=\"http://schemas.microsoft.com/exchange/services/2006/types\" "
        + "xmlns=\"http://schemas.microsoft.com/exchange/services/2006/types\" "
        + "xmlns:xsd=\"http://www.w3.org/2001/XMLSchema\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\"/>"

    /// `<s:Envelope>` with ServerVersionInfo and `<m:{operation}Response>` around `messages`, or
    /// gromox's pretty-printed `<SOAP:Envelope>` for a gromox tenant.
    static func response(_ operation: String, dialect: SimDialect = .exchange, pretty: Bool = false,
                         _ messages: (inout XMLWriter) -> Void) -> String {
        if dialect == .gromox { return GromoxEnvelope.response(operation, pretty: pretty, messages) }
        var w = XMLWriter(capacity: 2048)
        w.raw("<?xml version=\"1.0\" encoding=\"utf-8\"?>")
        w.raw("<s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\"><s:Header>")
        w.raw(serverVersionHeader)
        w.raw("</s:Header><s:Body xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xmlns:xsd=\"http://www.w3.org/2001/XMLSchema\">")
        w.raw("<m:\(operation)Response xmlns:m=\"\(NS.messages)\" xmlns:t=\"\(NS.types)\"><m:ResponseMessages>")
        messages(&w)
        w.raw("</m:ResponseMessages></m:\(operation)Response></s:Body></s:Envelope>")
        return w.output
    }

    /// `response` in the dialect (and gromox print style) of the request's tenant.
    static func response(_ operation: String, for context: EWSContext, _ messages: (inout XMLWriter) -> Void) -> String {
        response(operation, dialect: context.dialect, pretty: context.world.configuration.gromoxPrettyPrint, messages)
    }

    /// One `m:{operation}ResponseMessage`; `error` = (code, text) makes it ResponseClass="Error".
    static func message(_ w: inout XMLWriter, _ operation: String, error: (String, String)? = nil,
                        values: [(String, String)] = [], _ content: (inout XMLWriter) -> Void = { _ in }) {
        let name = "m:\(operation)ResponseMessage"
        if let (code, text) = error {
            w.open(name, ["ResponseClass": "Error"])
            w.element("m:MessageText", text)
            w.element("m:ResponseCode", code)
            w.element("m:DescriptiveLinkKey", "0")
            if !values.isEmpty {
                w.element("m:MessageXml") { w in
                    for (key, value) in values { w.element("t:Value", value, ["Name": key]) }
                }
            }
        } else {
            w.open(name, ["ResponseClass": "Success"])
            w.element("m:ResponseCode", "NoError")
        }
        content(&w)
        w.close(name)
    }

    /// A SOAP fault (HTTP 500), with the EWS code in faultcode and detail, plus optional MessageXml.
    static func fault(code: String, message: String, values: [(String, String)] = [],
                      schemaViolation: SimXMLError? = nil) -> String {
        var w = XMLWriter(capacity: 1024)
        w.raw("<?xml version=\"1.0\" encoding=\"utf-8\"?>")
        w.raw("<s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\"><s:Body><s:Fault>")
        w.raw("<faultcode xmlns:a=\"\(NS.types)\">a:\(code)</faultcode>")
        w.element("faultstring", message, ["xml:lang": "en-US"])
        w.open("detail")
        w.raw("<e:ResponseCode xmlns:e=\"\(NS.errors)\">\(code)</e:ResponseCode>")
        w.raw("<e:Message xmlns:e=\"\(NS.errors)\">")
        w.text(message)
        w.raw("</e:Message>")
        if !values.isEmpty || schemaViolation != nil {
            w.raw("<t:MessageXml xmlns:t=\"\(NS.types)\">")
            if let violation = schemaViolation {
                w.element("t:LineNumber", String(violation.line))
                w.element("t:LinePosition", String(violation.column))
                w.element("t:Violation", violation.message)
            }
            for (name, value) in values { w.element("t:Value", value, ["Name": name]) }
            w.raw("</t:MessageXml>")
        }
        w.close("detail")
        w.raw("</s:Fault></s:Body></s:Envelope>")
        return w.output
    }
}

/// A request-level failure that becomes a SOAP fault.
struct EWSFault: Error {
    var code: String
    var message: String
    var violation: SimXMLError?

    static func schema(_ error: SimXMLError) -> EWSFault {
        EWSFault(code: "ErrorSchemaValidation",
                 message: "The request failed schema validation: \(error.message)", violation: error)
    }
}
