import Testing
@testable import Store

/// The one rule: a tenant's credential goes only to https:// URLs unless the tenant allows plain http.
@Suite struct PlainHTTPRefusalTests {
    static func check(_ auth: AuthKind = .basic, ews: String = "https://mail.example/EWS/Exchange.asmx",
                      autodiscover: String? = nil, token: String? = nil, allowed: Bool = false) -> PlainHTTPRefusal? {
        PlainHTTPRefusal.check(tenant: "t", authKind: auth, ewsURL: ews, autodiscoverURL: autodiscover, tokenURL: token,
                               allowPlainHTTP: allowed)
    }

    @Test(arguments: AuthKind.allCases) func everyAuthKindNeedsPermissionForAPlainEWSURL(_ auth: AuthKind) {
        let token = auth == .oauth2 ? "https://login.example/t/oauth2/v2.0/token" : nil
        #expect(Self.check(auth, ews: "http://mail.example/EWS/Exchange.asmx", token: token)?.endpoints == [.ews])
        #expect(Self.check(auth, ews: "http://mail.example/EWS/Exchange.asmx", token: token, allowed: true) == nil)
        #expect(Self.check(auth, token: token) == nil)
    }

    @Test func eachURLThatCarriesTheCredentialIsJudged() {
        let refusal = Self.check(.oauth2, ews: "http://mail.example/EWS/Exchange.asmx",
                                 autodiscover: "http://mail.example/autodiscover/autodiscover.svc", token: "http://idp.example/token")
        #expect(refusal?.endpoints == [.ews, .autodiscover, .token])
        #expect(Self.check(.oauth2, token: "http://idp.example/token")?.endpoints == [.token])
        #expect(Self.check(autodiscover: "http://mail.example/autodiscover/autodiscover.svc")?.endpoints == [.autodiscover])
        // Only oauth2 requests the token URL: another kind's stored one carries nothing.
        #expect(Self.check(.basic, token: "http://idp.example/token") == nil)
    }

    @Test func theSchemeIsCaseInsensitiveAndAMissingOneIsPlain() {
        #expect(Self.check(ews: "HTTPS://mail.example/EWS/Exchange.asmx") == nil)
        #expect(Self.check(ews: "HTTP://mail.example/EWS/Exchange.asmx")?.endpoints == [.ews])
        // libcurl sends a URL without a scheme over http.
        #expect(Self.check(.oauth2, token: "idp.example/token")?.endpoints == [.token])
    }

    @Test func messagesNameTheURLsAndWhatAllowsThem() throws {
        let one = try #require(Self.check(ews: "http://mail.example/EWS/Exchange.asmx"))
        #expect(one.endpointsNotHTTPS(named: \.option) == "--ews-url does not use https://")
        #expect(one.description.contains("tenant t: ews_url does not use https://, so its basic credential would cross"))
        #expect(one.description.contains("ewsfleet tenant update t --allow-plain-http"))
        let three = try #require(Self.check(.oauth2, ews: "http://a/", autodiscover: "http://b/", token: "http://c/"))
        #expect(three.endpointsNotHTTPS(named: \.column) == "ews_url, autodiscover_url and token_url do not use https://")
        #expect(three.endpointsNotHTTPS(named: \.option) == "--ews-url, --autodiscover-url and --token-url do not use https://")
    }
}
