/// Every failure of the HTTP transport: a code to switch on, plus the source detail.
public struct HTTPError: Error, Sendable, CustomStringConvertible {
    /// What went wrong, independent of libcurl's numbering.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        public let name: String
        public var description: String { name }

        public static let connectFailed = Code(name: "connectFailed")
        public static let connectTimeout = Code(name: "connectTimeout")
        public static let timeout = Code(name: "timeout")
        public static let idleTimeout = Code(name: "idleTimeout")
        public static let cancelled = Code(name: "cancelled")
        public static let shutdown = Code(name: "shutdown")
        public static let httpStatus = Code(name: "httpStatus")
        public static let tls = Code(name: "tls")
        public static let auth = Code(name: "auth")
        public static let tokenEndpoint = Code(name: "tokenEndpoint")
        public static let proxy = Code(name: "proxy")
        public static let invalidRequest = Code(name: "invalidRequest")
        /// A normal response's body went past `HTTPClient.Configuration.maxResponseBodyBytes`.
        public static let responseTooLarge = Code(name: "responseTooLarge")
        /// Connection reset, truncated body and other transfer failures after connecting.
        public static let transport = Code(name: "transport")
    }

    public var code: Code
    /// libcurl's CURLcode when the failure came from libcurl.
    public var curlCode: Int?
    /// Human-readable detail: curl's error buffer, the identity provider's error text, etc.
    /// Never holds a secret.
    public var message: String
    /// HTTP status when `code == .httpStatus` or a token endpoint answered with an error status.
    public var status: Int?

    public init(code: Code, message: String, curlCode: Int? = nil, status: Int? = nil) {
        self.code = code
        self.message = message
        self.curlCode = curlCode
        self.status = status
    }

    /// Whether trying the same call again later can succeed without changing anything.
    public var isRetryable: Bool {
        switch code {
        case .connectFailed, .connectTimeout, .timeout, .idleTimeout, .transport, .proxy:
            return true
        case .httpStatus, .tokenEndpoint:
            guard let status else { return code == .tokenEndpoint }
            return status == 429 || status == 502 || status == 503 || status == 504
        default:
            return false
        }
    }

    public var description: String {
        var parts = ["HTTPError(\(code)"]
        if let status { parts.append("status \(status)") }
        if let curlCode { parts.append("curl \(curlCode)") }
        return parts.joined(separator: ", ") + "): " + message
    }
}
