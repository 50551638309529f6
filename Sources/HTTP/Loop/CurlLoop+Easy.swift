import CCurl
import Foundation
import Support

/// Building and tearing down easy handles; loop thread only.
extension CurlLoop {
    /// One connection cache per identity: NTLM authenticates a TCP connection, so a connection
    /// must never be picked up by a call of another identity. Share handles are used only on the
    /// loop thread, so they need no lock callbacks.
    func shareHandle(for identity: HTTPIdentity) -> UnsafeMutableRawPointer? {
        if let share = shares[identity] { return share }
        guard let share = curl_share_init() else { return nil }
        ewsf_share_setopt_long(share, CURLSHOPT_SHARE, Int(CURL_LOCK_DATA_CONNECT.rawValue))
        ewsf_share_setopt_long(share, CURLSHOPT_SHARE, Int(CURL_LOCK_DATA_DNS.rawValue))
        shares[identity] = share
        if identity.insecureSkipVerify {
            logger.warning(
                "TLS CERTIFICATE VERIFICATION IS OFF for this identity (insecure switch); use only for lab servers",
                metadata: ["tenant": "\(identity.tenant)"])
        }
        return share
    }

    func configure(_ t: Transfer, share: UnsafeMutableRawPointer?) throws(HTTPError) {
        guard let easy = curl_easy_init() else {
            throw HTTPError(code: .transport, message: "curl_easy_init failed")
        }
        t.easy = easy
        let request = t.request
        let me = Unmanaged.passUnretained(t).toOpaque()
        func check(_ rc: CURLcode, _ what: String) throws(HTTPError) {
            if rc != CURLE_OK {
                throw HTTPError(code: .invalidRequest, message: "\(what): \(String(cString: curl_easy_strerror(rc)))", curlCode: Int(rc.rawValue))
            }
        }
        func setString(_ option: CURLoption, _ value: String, _ what: String) throws(HTTPError) {
            let rc = value.withCString { ewsf_easy_setopt_ptr(easy, option, $0) }
            try check(rc, what)
        }
        try setString(CURLOPT_URL, request.url, "URL")
        ewsf_easy_setopt_ptr(easy, CURLOPT_PRIVATE, me)
        ewsf_easy_setopt_write_cb(easy, transferWriteCallback)
        ewsf_easy_setopt_ptr(easy, CURLOPT_WRITEDATA, me)
        ewsf_easy_setopt_header_cb(easy, transferHeaderCallback)
        ewsf_easy_setopt_ptr(easy, CURLOPT_HEADERDATA, me)
        ewsf_easy_setopt_ptr(easy, CURLOPT_ERRORBUFFER, t.errorBuffer)
        ewsf_easy_setopt_long(easy, CURLOPT_NOSIGNAL, 1)
        ewsf_easy_setopt_long(easy, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_1_1)
        ewsf_easy_setopt_long(easy, CURLOPT_TCP_KEEPALIVE, 1)
        ewsf_easy_setopt_long(easy, CURLOPT_SUPPRESS_CONNECT_HEADERS, 1)
        // Verbose output only ever goes to our debug callback, which redacts credentials.
        if t.trace != nil {
            ewsf_easy_setopt_debug_cb(easy, transferDebugCallback)
            ewsf_easy_setopt_ptr(easy, CURLOPT_DEBUGDATA, me)
            ewsf_easy_setopt_long(easy, CURLOPT_VERBOSE, 1)
        } else {
            ewsf_easy_setopt_long(easy, CURLOPT_VERBOSE, 0)
        }
        if let share { ewsf_easy_setopt_ptr(easy, CURLOPT_SHARE, share) }

        // Timeouts: connect for everyone; total only for normal calls (streams use the idle
        // watchdog in the loop instead).
        ewsf_easy_setopt_long(easy, CURLOPT_CONNECTTIMEOUT_MS, request.timeouts.connect.curlMilliseconds)
        if t.kind == .normal {
            ewsf_easy_setopt_long(easy, CURLOPT_TIMEOUT_MS, request.timeouts.total.curlMilliseconds)
        }

        // Method and body. COPYPOSTFIELDS lets libcurl resend the body during an NTLM handshake.
        let method = request.method.uppercased()
        if let body = request.body {
            ewsf_easy_setopt_off(easy, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(body.count))
            let rc = body.isEmpty
                ? "".withCString { ewsf_easy_setopt_ptr(easy, CURLOPT_COPYPOSTFIELDS, $0) }
                : body.withUnsafeBytes { ewsf_easy_setopt_ptr(easy, CURLOPT_COPYPOSTFIELDS, $0.baseAddress!) }
            try check(rc, "body")
            if method != "POST" { try setString(CURLOPT_CUSTOMREQUEST, method, "method") }
        } else if method == "GET" {
            ewsf_easy_setopt_long(easy, CURLOPT_HTTPGET, 1)
        } else if method == "HEAD" {
            ewsf_easy_setopt_long(easy, CURLOPT_NOBODY, 1)
        } else {
            try setString(CURLOPT_CUSTOMREQUEST, method, "method")
        }

        // Headers. "Expect:" disables 100-continue round trips on large SOAP bodies.
        var list: UnsafeMutablePointer<curl_slist>?
        for (name, value) in request.headers { list = curl_slist_append(list, "\(name): \(value)") }
        for line in t.extraHeaders { list = curl_slist_append(list, line) }
        list = curl_slist_append(list, "Expect:")
        t.headerList = list
        ewsf_easy_setopt_ptr(easy, CURLOPT_HTTPHEADER, list)

        try configureAuth(easy, request.identity, check)
        configureTLSAndProxy(easy, request.identity)
    }

    private func configureAuth(
        _ easy: UnsafeMutableRawPointer, _ identity: HTTPIdentity,
        _ check: (CURLcode, String) throws(HTTPError) -> Void
    ) throws(HTTPError) {
        func userPassword(_ user: String, _ password: Secret?) throws(HTTPError) {
            try check(user.withCString { ewsf_easy_setopt_ptr(easy, CURLOPT_USERNAME, $0) }, "username")
            try check(
                (password?.unredactedValue ?? "").withCString { ewsf_easy_setopt_ptr(easy, CURLOPT_PASSWORD, $0) },
                "password")
        }
        if let mask = curlAuthMask(for: identity.authKind) {
            ewsf_easy_setopt_ulong(easy, CURLOPT_HTTPAUTH, mask)
        }
        switch identity.credentials {
        case .none, .oauth2: break  // oauth2: the client adds the bearer header itself
        case .basic(let user, let password), .ntlm(let user, let password):
            try userPassword(user, password)
        case .negotiate(let user, let password):
            try userPassword(user ?? "", password)
        }
    }

    private func configureTLSAndProxy(_ easy: UnsafeMutableRawPointer, _ identity: HTTPIdentity) {
        if identity.insecureSkipVerify {
            ewsf_easy_setopt_long(easy, CURLOPT_SSL_VERIFYPEER, 0)
            ewsf_easy_setopt_long(easy, CURLOPT_SSL_VERIFYHOST, 0)
        } else {
            ewsf_easy_setopt_long(easy, CURLOPT_SSL_VERIFYPEER, 1)
            ewsf_easy_setopt_long(easy, CURLOPT_SSL_VERIFYHOST, 2)
        }
        if let ca = identity.caBundlePath {
            _ = ca.withCString { ewsf_easy_setopt_ptr(easy, CURLOPT_CAINFO, $0) }
        }
        // An empty proxy disables the environment's http_proxy/https_proxy on purpose.
        _ = (identity.proxy ?? "").withCString { ewsf_easy_setopt_ptr(easy, CURLOPT_PROXY, $0) }
    }

    func cleanupEasy(_ t: Transfer) {
        if let easy = t.easy { curl_easy_cleanup(easy) }
        t.easy = nil
        if let list = t.headerList { curl_slist_free_all(list) }
        t.headerList = nil
    }

    func readTiming(_ easy: UnsafeMutableRawPointer?) -> HTTPTiming {
        var timing = HTTPTiming()
        guard let easy else { return timing }
        func read(_ info: CURLINFO) -> Duration {
            var us: curl_off_t = 0
            ewsf_easy_getinfo_off(easy, info, &us)
            return .microseconds(us)
        }
        timing.nameLookup = read(CURLINFO_NAMELOOKUP_TIME_T)
        timing.connect = read(CURLINFO_CONNECT_TIME_T)
        timing.tlsHandshake = read(CURLINFO_APPCONNECT_TIME_T)
        timing.firstByte = read(CURLINFO_STARTTRANSFER_TIME_T)
        timing.total = read(CURLINFO_TOTAL_TIME_T)
        return timing
    }
}

/// The `CURLOPT_HTTPAUTH` mask for an auth kind; nil when libcurl does no auth (none, oauth2).
func curlAuthMask(for kind: HTTPIdentity.AuthKind) -> UInt? {
    switch kind {
    case .none, .oauth2: nil
    case .basic: ewsf_auth_basic()
    case .ntlm: ewsf_auth_ntlm()
    case .negotiate: ewsf_auth_negotiate()
    }
}

extension HTTPError {
    /// Maps a libcurl failure. `connected` tells a connect timeout from a later one.
    init(curl code: CURLcode, detail: String, connected: Bool) {
        let text = detail.isEmpty ? String(cString: curl_easy_strerror(code)) : detail
        let kind: Code
        switch code {
        case CURLE_COULDNT_CONNECT, CURLE_COULDNT_RESOLVE_HOST:
            kind = .connectFailed
        case CURLE_COULDNT_RESOLVE_PROXY:
            kind = .proxy
        case CURLE_OPERATION_TIMEDOUT:
            kind = connected ? .timeout : .connectTimeout
        case CURLE_SSL_CONNECT_ERROR, CURLE_PEER_FAILED_VERIFICATION, CURLE_SSL_CERTPROBLEM,
            CURLE_SSL_CIPHER, CURLE_SSL_CACERT_BADFILE, CURLE_SSL_ISSUER_ERROR,
            CURLE_SSL_PINNEDPUBKEYNOTMATCH, CURLE_SSL_INVALIDCERTSTATUS, CURLE_SSL_CRL_BADFILE:
            kind = .tls
        case CURLE_LOGIN_DENIED, CURLE_AUTH_ERROR:
            kind = .auth
        case CURLE_URL_MALFORMAT, CURLE_UNSUPPORTED_PROTOCOL:
            kind = .invalidRequest
        default:
            kind = .transport
        }
        self.init(code: kind, message: text, curlCode: Int(code.rawValue))
    }
}
