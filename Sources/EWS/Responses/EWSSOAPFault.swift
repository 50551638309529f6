/// A SOAP fault (usually HTTP 500): request-level failures such as throttling, schema,
/// version or impersonation errors (fact sheet §7.1).
public struct EWSSOAPFault: Error, Hashable, Sendable, Codable {
    /// `faultcode` as written, e.g. `a:ErrorServerBusy` or `s:Client`.
    public var faultCode: String
    public var faultString: String
    /// `detail/ResponseCode` (errors namespace); falls back to the local part of `faultcode`
    /// when that looks like an EWS code.
    public var responseCode: String?
    /// `detail/Message`.
    public var message: String?
    /// Values of `detail/MessageXml` (types or errors namespace), e.g. `BackOffMilliseconds`.
    public var messageXML: [String: String]

    public init(
        faultCode: String, faultString: String, responseCode: String? = nil, message: String? = nil,
        messageXML: [String: String] = [:]
    ) {
        self.faultCode = faultCode
        self.faultString = faultString
        self.responseCode = responseCode
        self.message = message
        self.messageXML = messageXML
    }

    public var backOffMilliseconds: Int? {
        EWSThrottlingHint.backOff(messageXML: messageXML, texts: [message, faultString])
    }

    public var throttlingPolicy: String? {
        EWSThrottlingHint.policy(messageXML: messageXML, texts: [message, faultString])
    }

    init(element: EWSXMLElement) {
        // faultcode/faultstring/detail are unqualified per SOAP 1.1; accept any namespace.
        let code = element.children.first { $0.localName == "faultcode" }?.trimmedText ?? ""
        let string = element.children.first { $0.localName == "faultstring" }?.trimmedText ?? ""
        let detail = element.children.first { $0.localName == "detail" }
        var responseCode = detail?.ewsText("ResponseCode")
        if responseCode == nil || responseCode!.isEmpty {
            let local = code.split(separator: ":").last.map(String.init) ?? code
            responseCode = local.hasPrefix("Error") ? local : nil
        }
        self.init(
            faultCode: code, faultString: string, responseCode: responseCode,
            message: detail?.ewsText("Message"),
            messageXML: detail?.ewsChild("MessageXml").map(EWSResponseStatus.values(ofMessageXML:)) ?? [:])
    }
}
