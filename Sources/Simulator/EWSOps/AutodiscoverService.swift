/// SOAP Autodiscover GetUserSettings: ExternalEwsUrl and GroupingInformation (one value per mailbox
/// server), so clients can group mailboxes for streaming as fact sheet §8.3 describes.
struct AutodiscoverService {
    let world: SimWorld

    static func groupingInformation(_ tenant: Tenant, server: Int) -> String {
        "\(tenant.name.uppercased())-DAG\(String(format: "%02d", server + 1))"
    }

    func handle(tenant: Tenant, request: SimRequest, ewsURL: String) -> (String, SimResponse) {
        if case .deny(let response) = world.authorize(tenant, request: request) { return ("Unauthorized", response) }
        // The official EWS schema does not cover Autodiscover, so only well-formedness is checked.
        guard case .success(let envelope) = SimXMLParser.parse(request.body),
              let operation = envelope.child(NS.soap, "Body")?.child(NS.autodiscover, "GetUserSettingsRequestMessage"),
              let inner = operation.child(NS.autodiscover, "Request") else {
            return ("Autodiscover", .xml(.internalServerError, EWSEnvelope.fault(
                code: "ErrorInvalidRequest", message: "The request is invalid.")))
        }
        let users = inner.child(NS.autodiscover, "Users")?.children(NS.autodiscover, "User")
            .map { $0.child(NS.autodiscover, "Mailbox")?.trimmedText ?? "" } ?? []
        let settings = inner.child(NS.autodiscover, "RequestedSettings")?.children(NS.autodiscover, "Setting").map(\.trimmedText) ?? []
        var w = XMLWriter(capacity: 1024 + 400 * users.count)
        w.raw("<?xml version=\"1.0\" encoding=\"utf-8\"?>")
        w.raw("<s:Envelope xmlns:s=\"\(NS.soap)\" xmlns:a=\"\(NS.addressing)\"><s:Header>")
        w.raw("<a:Action s:mustUnderstand=\"1\">http://schemas.microsoft.com/exchange/2010/Autodiscover/Autodiscover/GetUserSettingsResponse</a:Action>")
        w.raw("<h:ServerVersionInfo xmlns:h=\"\(NS.autodiscover)\" xmlns:i=\"\(NS.xsi)\"><h:MajorVersion>15</h:MajorVersion>"
              + "<h:MinorVersion>20</h:MinorVersion><h:MajorBuildNumber>7452</h:MajorBuildNumber>"
              + "<h:MinorBuildNumber>50</h:MinorBuildNumber><h:Version>Exchange2015</h:Version></h:ServerVersionInfo>")
        w.raw("</s:Header><s:Body><GetUserSettingsResponseMessage xmlns=\"\(NS.autodiscover)\">")
        w.raw("<Response xmlns:i=\"\(NS.xsi)\"><ErrorCode>NoError</ErrorCode><ErrorMessage/><UserResponses>")
        world.lock.withLock {
            for user in users {
                w.open("UserResponse")
                guard let mailbox = world.mailbox(smtp: user), mailbox.tenantIndex == tenant.index else {
                    w.element("ErrorCode", "InvalidUser")
                    w.element("ErrorMessage", "Invalid user: '\(user)'")
                    w.raw("<RedirectTarget i:nil=\"true\"/><UserSettingErrors/><UserSettings/>")
                    w.close("UserResponse")
                    continue
                }
                w.element("ErrorCode", "NoError")
                w.element("ErrorMessage", "No error.")
                w.raw("<RedirectTarget i:nil=\"true\"/>")
                let values: [String: String] = [
                    "ExternalEwsUrl": ewsURL, "InternalEwsUrl": ewsURL,
                    "GroupingInformation": Self.groupingInformation(tenant, server: mailbox.serverIndex),
                    "UserDisplayName": String(mailbox.smtp.split(separator: "@")[0]),
                    "UserDN": "/o=sim/ou=\(tenant.name)/cn=Recipients/cn=\(mailbox.smtp)",
                    "CasVersion": "15.20.7452.50", "EwsSupportedSchemas": "Exchange2007, Exchange2007_SP1, Exchange2010, Exchange2010_SP1, Exchange2010_SP2, Exchange2013, Exchange2013_SP1, Exchange2015, Exchange2016",
                ]
                w.open("UserSettingErrors")
                for name in settings where values[name] == nil {
                    w.element("UserSettingError") { w in
                        w.element("ErrorCode", "InvalidSetting")
                        w.element("ErrorMessage", "The requested setting is invalid.")
                        w.element("SettingName", name)
                    }
                }
                w.close("UserSettingErrors")
                w.open("UserSettings")
                for name in settings {
                    guard let value = values[name] else { continue }
                    w.element("UserSetting", ["i:type": "StringSetting"]) { w in
                        w.element("Name", name)
                        w.element("Value", value)
                    }
                }
                w.close("UserSettings")
                w.close("UserResponse")
            }
        }
        w.raw("</UserResponses></Response></GetUserSettingsResponseMessage></s:Body></s:Envelope>")
        return ("GetUserSettings", .xml(.ok, w.output))
    }
}
