import Foundation
import Testing
@testable import HTTP

@Suite struct ModelTests {
    @Test(arguments: [
        (Duration.milliseconds(150), 150), (.microseconds(1), 1), (.zero, 0), (.seconds(90), 90_000), (.microseconds(2500), 2),
    ] as [(Duration, Int)])
    func timeoutsConvertToWholeMillisecondsNeverRoundingToNoLimit(duration: Duration, ms: Int) {
        #expect(duration.curlMilliseconds == ms)
    }

    @Test func cookieStoreKeepsOnlyCapturedNamesAndLatestValue() {
        let store = AffinityCookieStore()
        store.capture(from: HTTPResponseHead(status: 200, headers: [
            (name: "set-cookie", value: "X-BackEndOverrideCookie=A~1; path=/; secure; HttpOnly"),
            (name: "Set-Cookie", value: "X-BackEndCookie=zzz; path=/"),
        ]))
        store.capture(from: HTTPResponseHead(status: 200, headers: [(name: "Set-Cookie", value: "X-BackEndOverrideCookie=B~2")]))
        #expect(store.cookieHeader == "X-BackEndOverrideCookie=B~2")
        store.removeAll()
        #expect(store.cookieHeader == nil)
    }

    @Test(arguments: [
        ("Authorization: Bearer abc", "Authorization: <redacted>"),
        ("proxy-authorization: Basic xyz", "proxy-authorization: <redacted>"),
        ("Cookie: a=b", "Cookie: <redacted>"),
        ("Set-Cookie: a=b; path=/", "Set-Cookie: <redacted>"),
        ("X-AnchorMailbox: a@b.c", "X-AnchorMailbox: a@b.c"),
        ("GET / HTTP/1.1", "GET / HTTP/1.1"),
    ])
    func headerRedaction(line: String, expected: String) {
        #expect(redactedHeaderLine(line) == expected)
    }

    @Test func formEncodingEscapesReservedCharacters() {
        #expect(OAuth2TokenProvider.formEncode("https://outlook.office365.com/.default") == "https%3A%2F%2Foutlook.office365.com%2F.default")
        #expect(OAuth2TokenProvider.formEncode("a+b&c=d e") == "a%2Bb%26c%3Dd%20e")
    }

    @Test(arguments: [
        (HTTPError.Code.connectFailed, nil, true), (.timeout, nil, true), (.idleTimeout, nil, true),
        (.tls, nil, false), (.cancelled, nil, false), (.shutdown, nil, false), (.auth, nil, false),
        (.httpStatus, 503, true), (.httpStatus, 400, false), (.tokenEndpoint, 401, false), (.tokenEndpoint, nil, true),
    ] as [(HTTPError.Code, Int?, Bool)])
    func retryability(code: HTTPError.Code, status: Int?, retryable: Bool) {
        #expect(HTTPError(code: code, message: "", status: status).isRetryable == retryable)
    }
}
