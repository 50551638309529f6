public import Foundation

/// Decodes complete EWS responses (one SOAP envelope, or a captured multi-envelope
/// GetStreamingEvents body) into typed values. Matching is by namespace URI + local name.
public struct EWSResponseDecoder: Sendable {
    public var limits: XMLParserLimits

    public init(limits: XMLParserLimits = .default) { self.limits = limits }

    /// Decodes `data` as the response to `operation`. A SOAP fault decodes to `.fault`; a body
    /// for another operation is an `.unexpectedStructure` error.
    public func decode(_ data: Data, as operation: EWSOperation) throws(EWSDecodingError) -> EWSResponse {
        let roots = try EWSXMLDocument.parseAll(data, limits: limits)
        guard !roots.isEmpty else {
            throw EWSDecodingError(code: .truncated, offset: data.count, expected: "a SOAP envelope")
        }
        if operation == .getStreamingEvents {
            var envelopes: [StreamingEnvelope] = []
            for root in roots {
                switch try Self.decode(envelope: root) {
                case .getStreamingEvents(let decoded): envelopes += decoded
                case .fault(let fault): envelopes.append(.fault(fault))
                case let other: throw Self.mismatch(other, expected: operation)
                }
            }
            return .getStreamingEvents(envelopes)
        }
        guard roots.count == 1 else {
            throw EWSDecodingError(code: .unexpectedContent, offset: 0, expected: "exactly one SOAP envelope",
                detail: "found \(roots.count)")
        }
        let response = try Self.decode(envelope: roots[0])
        if case .fault = response { return response }
        guard response.operation == operation else { throw Self.mismatch(response, expected: operation) }
        return response
    }

    /// Decodes every envelope in `data`, detecting each one's operation from its body element.
    public func decodeAll(_ data: Data) throws(EWSDecodingError) -> [EWSResponse] {
        var responses: [EWSResponse] = []
        for root in try EWSXMLDocument.parseAll(data, limits: limits) {
            responses.append(try Self.decode(envelope: root))
        }
        return responses
    }

    private static func mismatch(_ response: EWSResponse, expected: EWSOperation) -> EWSDecodingError {
        EWSDecodingError(code: .unexpectedStructure, offset: 0, expected: expected.responseElement,
            detail: "body holds a \(response.operation?.rawValue ?? "fault") response")
    }

    /// The body element of a SOAP envelope (first element child of Body).
    static func bodyElement(of envelope: EWSXMLElement) throws(EWSDecodingError) -> EWSXMLElement {
        guard envelope.localName == "Envelope", envelope.namespace == EWSNamespace.soap else {
            throw EWSDecodingError(code: .unexpectedStructure, offset: 0, expected: "soap:Envelope",
                detail: "root is \(envelope.name)")
        }
        guard let body = envelope.child("Body", in: [EWSNamespace.soap, ""]) else {
            throw EWSDecodingError(code: .unexpectedStructure, offset: 0, expected: "soap:Body in Envelope")
        }
        guard let first = body.children.first else {
            throw EWSDecodingError(code: .unexpectedStructure, offset: 0, expected: "an element in soap:Body")
        }
        return first
    }

    /// Decodes one envelope root element.
    static func decode(envelope: EWSXMLElement) throws(EWSDecodingError) -> EWSResponse {
        let element = try bodyElement(of: envelope)
        if element.localName == "Fault" && element.namespace == EWSNamespace.soap {
            return .fault(EWSSOAPFault(element: element))
        }
        if element.localName == "GetUserSettingsResponseMessage" {
            return .getUserSettings(try GetUserSettingsResponse(element: element))
        }
        guard EWSNamespace.ewsFamily.contains(element.namespace), element.localName.hasSuffix("Response"),
            let operation = EWSOperation(rawValue: String(element.localName.dropLast("Response".count)))
        else {
            throw EWSDecodingError(code: .unexpectedStructure, offset: 0, expected: "an EWS response element",
                detail: "body holds \(element.name)")
        }
        if operation == .getStreamingEvents {
            return .getStreamingEvents(try StreamingEnvelope.decode(response: element))
        }
        let messages = try responseMessages(element)
        switch operation {
        case .subscribe: return .subscribe(try messages.map(decodeSubscribe))
        case .unsubscribe: return .unsubscribe(try messages.map { (m) throws(EWSDecodingError) in
            EWSStatusResponseMessage(status: try EWSResponseStatus(element: m)) })
        case .syncFolderItems: return .syncFolderItems(try messages.map(decodeSyncFolderItems))
        case .syncFolderHierarchy: return .syncFolderHierarchy(try messages.map(decodeSyncFolderHierarchy))
        case .getItem: return .getItem(try messages.map(decodeGetItem))
        case .findItem: return .findItem(try messages.map(decodeFindItem))
        case .getFolder: return .getFolder(try messages.map(decodeGetFolder))
        case .findFolder: return .findFolder(try messages.map(decodeFindFolder))
        case .getStreamingEvents, .getUserSettings:
            throw EWSDecodingError(code: .unexpectedStructure, offset: 0, expected: "a supported response")
        }
    }

    private static func responseMessages(_ element: EWSXMLElement) throws(EWSDecodingError) -> [EWSXMLElement] {
        guard let list = element.ewsChild("ResponseMessages") else {
            throw EWSDecodingError(code: .unexpectedStructure, offset: 0,
                expected: "ResponseMessages inside \(element.localName)")
        }
        // Unknown (non-*ResponseMessage) children are skipped, not fatal.
        return list.children.filter { $0.localName.hasSuffix("ResponseMessage") }
    }
}
