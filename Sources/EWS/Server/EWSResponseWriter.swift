public import Foundation

/// Writes EWS responses (simulator side) in the shapes real servers send, so that what the
/// simulator emits is exactly what ``EWSResponseDecoder`` and ``StreamingEventDecoder`` read.
public enum EWSResponseWriter {
    public typealias ServerVersionInfo = EWSServerVersionInfo

    /// A normal (non-streaming) response envelope: `s:` prefixed, `m:`/`t:` declared on the
    /// operation element, as Exchange serializes them.
    public static func envelope(
        serverVersion: ServerVersionInfo? = .exchangeOnline, body: (inout XMLWriter) -> Void
    ) -> Data {
        var writer = XMLWriter()
        writer.declaration()
        writer.open("s:Envelope", ["xmlns:s": EWSNamespace.soap])
        if let serverVersion {
            writer.open("s:Header")
            writeServerVersion(serverVersion, prefix: "h:", to: &writer)
            writer.close("s:Header")
        }
        writer.open("s:Body")
        body(&writer)
        writer.close("s:Body")
        writer.close("s:Envelope")
        return Data(writer.output.utf8)
    }

    static func writeServerVersion(_ info: ServerVersionInfo, prefix: String, to writer: inout XMLWriter) {
        writer.empty("\(prefix)ServerVersionInfo", [
            "MajorVersion": String(info.major), "MinorVersion": String(info.minor),
            "MajorBuildNumber": String(info.majorBuild), "MinorBuildNumber": String(info.minorBuild),
            "Version": info.version,
            prefix.isEmpty ? "xmlns" : "xmlns:\(prefix.dropLast())": EWSNamespace.types,
        ])
    }

    /// `<m:{Operation}Response><m:ResponseMessages>…</m:ResponseMessages></m:{Operation}Response>`.
    static func operationResponse(
        _ operation: EWSOperation, to writer: inout XMLWriter, messages: (inout XMLWriter) -> Void
    ) {
        writer.open("m:\(operation.responseElement)", ["xmlns:m": EWSNamespace.messages, "xmlns:t": EWSNamespace.types])
        writer.open("m:ResponseMessages")
        messages(&writer)
        writer.close("m:ResponseMessages")
        writer.close("m:\(operation.responseElement)")
    }

    /// Opens `m:{Operation}ResponseMessage` and writes the common part in XSD order.
    static func openMessage(_ operation: EWSOperation, _ status: EWSResponseStatus, to writer: inout XMLWriter) {
        writer.open("m:\(operation.responseMessageElement)", ["ResponseClass": status.responseClass.rawValue])
        if let text = status.messageText { writer.element("m:MessageText", text) }
        writer.element("m:ResponseCode", status.responseCode)
        if status.responseClass != .success { writer.element("m:DescriptiveLinkKey", "0") }
        if !status.messageXML.isEmpty {
            writer.open("m:MessageXml")
            for (name, value) in status.messageXML.sorted(by: { $0.key < $1.key }) {
                writer.element("t:Value", value, ["Name": name])
            }
            writer.close("m:MessageXml")
        }
    }

    /// A SOAP fault (send with HTTP 500), Exchange style: `a:` code in the types namespace,
    /// detail in the errors namespace, MessageXml in the types namespace.
    public static func fault(_ fault: EWSSOAPFault) -> Data {
        envelope(serverVersion: nil) { writer in
            writer.open("s:Fault")
            writer.element("faultcode", fault.faultCode, ["xmlns:a": EWSNamespace.types])
            writer.element("faultstring", fault.faultString, ["xml:lang": "en-US"])
            writer.open("detail")
            if let code = fault.responseCode {
                writer.element("e:ResponseCode", code, ["xmlns:e": EWSNamespace.errors])
            }
            if let message = fault.message { writer.element("e:Message", message, ["xmlns:e": EWSNamespace.errors]) }
            if !fault.messageXML.isEmpty {
                writer.open("t:MessageXml", ["xmlns:t": EWSNamespace.types])
                for (name, value) in fault.messageXML.sorted(by: { $0.key < $1.key }) {
                    writer.element("t:Value", value, ["Name": name])
                }
                writer.close("t:MessageXml")
            }
            writer.close("detail")
            writer.close("s:Fault")
        }
    }
}
