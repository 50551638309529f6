import CCurl
import Foundation
import Logging

/// libcurl's debug callback, installed only when `Configuration.traceHeaders` is on. Runs on the
/// loop thread. Logs header lines only, never bodies, and redacts credential-bearing headers.
let transferDebugCallback: @convention(c) (UnsafeMutableRawPointer?, curl_infotype, UnsafeMutablePointer<CChar>?, Int, UnsafeMutableRawPointer?) -> Int32 = {
    _, type, ptr, size, userData in
    guard let ptr, let userData else { return 0 }
    let t = Unmanaged<Transfer>.fromOpaque(userData).takeUnretainedValue()
    guard let logger = t.trace else { return 0 }
    let direction: String
    switch type {
    case CURLINFO_HEADER_OUT: direction = ">"
    case CURLINFO_HEADER_IN: direction = "<"
    case CURLINFO_TEXT: direction = "*"
    default: return 0  // request/response bodies and TLS records are never logged
    }
    let text = String(decoding: UnsafeRawBufferPointer(start: ptr, count: size), as: UTF8.self)
    for line in text.split(whereSeparator: { $0 == "\n" || $0 == "\r\n" || $0 == "\r" }) where !line.isEmpty {
        logger.trace("\(direction) \(redactedHeaderLine(String(line)))", metadata: ["tenant": "\(t.request.identity.tenant)"])
    }
    return 0
}

/// Headers whose values carry credentials or session state.
private let sensitiveHeaders: Set<String> = ["authorization", "proxy-authorization", "cookie", "set-cookie"]

/// `Name: value` with the value replaced by `<redacted>` for credential-bearing headers.
func redactedHeaderLine(_ line: String) -> String {
    guard let colon = line.firstIndex(of: ":") else { return line }
    let name = line[..<colon].trimmingCharacters(in: .whitespaces).lowercased()
    guard sensitiveHeaders.contains(name) else { return line }
    return "\(line[..<colon]): <redacted>"
}
