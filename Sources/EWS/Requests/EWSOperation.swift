public import Foundation

/// The EWS operations ewsfleet speaks. Used to pick a response decoder.
public enum EWSOperation: String, CaseIterable, Hashable, Sendable {
    case subscribe = "Subscribe"
    case getStreamingEvents = "GetStreamingEvents"
    case unsubscribe = "Unsubscribe"
    case syncFolderItems = "SyncFolderItems"
    case syncFolderHierarchy = "SyncFolderHierarchy"
    case getItem = "GetItem"
    case findItem = "FindItem"
    case getFolder = "GetFolder"
    case findFolder = "FindFolder"
    case getUserSettings = "GetUserSettings"

    /// Local name of the body element of the response (`m:SubscribeResponse`, ...).
    public var responseElement: String {
        self == .getUserSettings ? "GetUserSettingsResponseMessage" : rawValue + "Response"
    }

    /// Local name of each `m:*ResponseMessage`.
    public var responseMessageElement: String { rawValue + "ResponseMessage" }
}

/// A typed EWS request that renders into a SOAP envelope.
public protocol EWSOperationRequest: Sendable {
    var operation: EWSOperation { get }
    /// Writes the `m:<Operation>` body element (prefixes `m:`/`t:` are declared on the envelope).
    func writeBody(to writer: inout XMLWriter)
}

extension EWSOperationRequest {
    /// The complete SOAP 1.1 envelope, UTF-8 encoded.
    public func envelope(headers: EWSRequestHeaders = EWSRequestHeaders()) -> Data {
        Data(envelopeString(headers: headers).utf8)
    }

    public func envelopeString(headers: EWSRequestHeaders = EWSRequestHeaders()) -> String {
        var writer = XMLWriter()
        writer.declaration()
        writer.open("soap:Envelope", [
            "xmlns:soap": EWSNamespace.soap,
            "xmlns:m": EWSNamespace.messages,
            "xmlns:t": EWSNamespace.types,
        ])
        writer.open("soap:Header")
        writer.empty("t:RequestServerVersion", ["Version": headers.serverVersion.rawValue])
        if let impersonation = headers.impersonation {
            writer.open("t:ExchangeImpersonation")
            writer.open("t:ConnectingSID")
            switch impersonation {
            case .smtpAddress(let address): writer.element("t:SmtpAddress", address)
            case .primarySmtpAddress(let address): writer.element("t:PrimarySmtpAddress", address)
            }
            writer.close("t:ConnectingSID")
            writer.close("t:ExchangeImpersonation")
        }
        writer.close("soap:Header")
        writer.open("soap:Body")
        writeBody(to: &writer)
        writer.close("soap:Body")
        writer.close("soap:Envelope")
        return writer.output
    }
}
