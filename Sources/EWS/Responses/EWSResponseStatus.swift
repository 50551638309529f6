/// `ResponseClass` of an EWS response message.
public enum EWSResponseClass: String, Hashable, Sendable, Codable {
    case success = "Success"
    case warning = "Warning"
    case error = "Error"
}

/// The common part of every `m:*ResponseMessage`: ResponseClass, ResponseCode, MessageText and
/// the values inside MessageXml (e.g. `BackOffMilliseconds`, `Policy`, `LineNumber`).
public struct EWSResponseStatus: Hashable, Sendable, Codable {
    public var responseClass: EWSResponseClass
    public var responseCode: String
    public var messageText: String?
    public var messageXML: [String: String]

    public init(
        responseClass: EWSResponseClass, responseCode: String = "NoError", messageText: String? = nil,
        messageXML: [String: String] = [:]
    ) {
        self.responseClass = responseClass
        self.responseCode = responseCode
        self.messageText = messageText
        self.messageXML = messageXML
    }

    public static let noError = EWSResponseStatus(responseClass: .success)

    public var isSuccess: Bool { responseClass != .error && responseCode == "NoError" }

    /// The server's backoff hint: MessageXml `BackOffMilliseconds`, else "Suggested backoff time N ms"
    /// from the text (EXO throttling messages carry it only there).
    public var backOffMilliseconds: Int? {
        EWSThrottlingHint.backOff(messageXML: messageXML, texts: [messageText])
    }

    /// Throttling policy part named by the server (e.g. `ConcurrentSyncCalls`, `MaxConcurrency`).
    public var throttlingPolicy: String? { EWSThrottlingHint.policy(messageXML: messageXML, texts: [messageText]) }
}

extension EWSResponseStatus {
    /// Reads the common children of a response message element; missing ResponseCode falls back
    /// to the class ("NoError" for Success).
    init(element: EWSXMLElement) throws(EWSDecodingError) {
        let classText = element.attribute("ResponseClass") ?? ""
        guard let responseClass = EWSResponseClass(rawValue: classText) else {
            throw EWSDecodingError(code: .unexpectedStructure, offset: 0,
                expected: "ResponseClass Success|Warning|Error on \(element.localName)", detail: "got '\(classText)'")
        }
        let code = element.ewsText("ResponseCode")
        self.init(
            responseClass: responseClass,
            responseCode: (code?.isEmpty == false ? code! : (responseClass == .error ? "ErrorUnknown" : "NoError")),
            messageText: element.ewsText("MessageText"),
            messageXML: element.ewsChild("MessageXml").map(Self.values(ofMessageXML:)) ?? [:])
    }

    /// Flattens MessageXml: `t:Value Name="X"` → X; other leaf children → their local name.
    static func values(ofMessageXML element: EWSXMLElement) -> [String: String] {
        var values: [String: String] = [:]
        for child in element.children {
            if child.localName == "Value", let name = child.attribute("Name") {
                values[name] = child.trimmedText
            } else if child.children.isEmpty {
                values[child.localName] = child.attribute("FieldURI") ?? child.trimmedText
            } else if let uri = child.attribute("FieldURI") {
                values[child.localName] = uri
            }
        }
        return values
    }
}

/// Parses backoff and policy hints from MessageXml values and throttling message texts such as
/// "... policy part 'ConcurrentSyncCalls', policy value '5', ... Suggested backoff time 5000 ms."
enum EWSThrottlingHint {
    static func backOff(messageXML: [String: String], texts: [String?]) -> Int? {
        if let value = messageXML["BackOffMilliseconds"], let number = Int(value) { return number }
        for text in (texts + [messageXML["ErrorMessage"]]).compactMap({ $0 }) {
            guard let range = text.range(of: "Suggested backoff time ") else { continue }
            let digits = text[range.upperBound...].prefix { $0.isASCII && $0.isNumber }
            if let number = Int(digits) { return number }
        }
        return nil
    }

    static func policy(messageXML: [String: String], texts: [String?]) -> String? {
        if let policy = messageXML["Policy"], !policy.isEmpty { return policy }
        for text in (texts + [messageXML["ErrorMessage"]]).compactMap({ $0 }) {
            guard let range = text.range(of: "policy part '") else { continue }
            let name = text[range.upperBound...].prefix { $0 != "'" }
            if !name.isEmpty { return String(name) }
        }
        return nil
    }
}
