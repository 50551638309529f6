public import Foundation

/// Autodiscover SOAP `GetUserSettings` (fact sheet §8.3a): a batch of users, asking for the
/// affinity-grouping inputs. Uses its own namespace and WS-Addressing headers, so it renders its
/// own envelope rather than the EWS one.
public struct GetUserSettingsRequest: Hashable, Sendable {
    public static let defaultSettings = ["ExternalEwsUrl", "GroupingInformation"]
    public static let action = "http://schemas.microsoft.com/exchange/2010/Autodiscover/Autodiscover/GetUserSettings"

    public let mailboxes: [String]
    public let settings: [String]
    public var requestedServerVersion: String
    /// The autodiscover endpoint (`wsa:To`), e.g. `https://autodiscover.contoso.com/autodiscover/autodiscover.svc`.
    public var endpoint: String

    public init(
        mailboxes: [String], endpoint: String, settings: [String] = Self.defaultSettings,
        requestedServerVersion: String = "Exchange2013"
    ) throws(EWSRequestError) {
        guard !mailboxes.isEmpty else { throw .empty("mailbox list") }
        guard !settings.isEmpty else { throw .empty("requested settings") }
        self.mailboxes = mailboxes
        self.settings = settings
        self.requestedServerVersion = requestedServerVersion
        self.endpoint = endpoint
    }

    public func envelope() -> Data { Data(envelopeString().utf8) }

    public func envelopeString() -> String {
        var writer = XMLWriter()
        writer.declaration()
        writer.open("soap:Envelope", [
            "xmlns:soap": EWSNamespace.soap,
            "xmlns:a": EWSNamespace.autodiscover,
            "xmlns:wsa": EWSNamespace.addressing,
        ])
        writer.open("soap:Header")
        writer.element("a:RequestedServerVersion", requestedServerVersion)
        writer.element("wsa:Action", Self.action)
        writer.element("wsa:To", endpoint)
        writer.close("soap:Header")
        writer.open("soap:Body")
        writer.open("a:GetUserSettingsRequestMessage")
        writer.open("a:Request")
        writer.open("a:Users")
        for mailbox in mailboxes {
            writer.open("a:User")
            writer.element("a:Mailbox", mailbox)
            writer.close("a:User")
        }
        writer.close("a:Users")
        writer.open("a:RequestedSettings")
        for setting in settings { writer.element("a:Setting", setting) }
        writer.close("a:RequestedSettings")
        writer.close("a:Request")
        writer.close("a:GetUserSettingsRequestMessage")
        writer.close("soap:Body")
        writer.close("soap:Envelope")
        return writer.output
    }
}
