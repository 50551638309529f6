/// Autodiscover `GetUserSettingsResponseMessage/Response` (fact sheet §8.3a).
public struct GetUserSettingsResponse: Hashable, Sendable, Codable {
    public struct UserResponse: Hashable, Sendable, Codable {
        public var errorCode: String
        public var errorMessage: String?
        public var redirectTarget: String?
        /// `UserSetting` Name → Value (StringSetting values).
        public var settings: [String: String]
        /// `UserSettingError` SettingName → ErrorCode.
        public var settingErrors: [String: String]

        public var isSuccess: Bool { errorCode == "NoError" }
        /// Affinity group key: ExternalEwsUrl + GroupingInformation (fact sheet §8.3 step 2).
        public var groupingKey: String? {
            guard let url = settings["ExternalEwsUrl"] else { return nil }
            return url + (settings["GroupingInformation"] ?? "")
        }
    }

    public var errorCode: String
    public var errorMessage: String?
    /// In request order.
    public var userResponses: [UserResponse]

    public var isSuccess: Bool { errorCode == "NoError" }
}

extension GetUserSettingsResponse {
    /// Decodes the body element `GetUserSettingsResponseMessage` (Autodiscover namespace; matched
    /// by local name below it, since servers default-namespace everything).
    init(element: EWSXMLElement) throws(EWSDecodingError) {
        let any: Set<String> = [EWSNamespace.autodiscover, ""]
        guard let response = element.child("Response", in: any) else {
            throw EWSDecodingError(code: .unexpectedStructure, offset: 0,
                expected: "Response inside GetUserSettingsResponseMessage")
        }
        func text(_ parent: EWSXMLElement, _ name: String) -> String? {
            guard let child = parent.child(name, in: any) else { return nil }
            if child.attribute("nil", namespace: EWSNamespace.xsi) == "true" { return nil }
            let value = child.trimmedText
            return value.isEmpty ? nil : value
        }
        var users: [UserResponse] = []
        for user in response.child("UserResponses", in: any)?.children("UserResponse", in: any) ?? [] {
            var settings: [String: String] = [:]
            for setting in user.child("UserSettings", in: any)?.children ?? [] {
                if let name = text(setting, "Name") { settings[name] = text(setting, "Value") ?? "" }
            }
            var errors: [String: String] = [:]
            for error in user.child("UserSettingErrors", in: any)?.children ?? [] {
                if let name = text(error, "SettingName") { errors[name] = text(error, "ErrorCode") ?? "" }
            }
            users.append(UserResponse(
                errorCode: text(user, "ErrorCode") ?? "NoError", errorMessage: text(user, "ErrorMessage"),
                redirectTarget: text(user, "RedirectTarget"), settings: settings, settingErrors: errors))
        }
        self.init(errorCode: text(response, "ErrorCode") ?? "NoError", errorMessage: text(response, "ErrorMessage"),
            userResponses: users)
    }
}
