import CCurl
import Foundation

/// libcurl callbacks. They run on the loop thread, inside `curl_multi_perform` or
/// `curl_easy_pause`, and find their `Transfer` through the user-data pointer.
let transferWriteCallback: @convention(c) (UnsafeMutablePointer<CChar>?, Int, Int, UnsafeMutableRawPointer?) -> Int = {
    ptr, size, count, userData in
    guard let ptr, let userData else { return 0 }
    let t = Unmanaged<Transfer>.fromOpaque(userData).takeUnretainedValue()
    return t.receiveBody(UnsafeRawBufferPointer(start: ptr, count: size * count))
}

let transferHeaderCallback: @convention(c) (UnsafeMutablePointer<CChar>?, Int, Int, UnsafeMutableRawPointer?) -> Int = {
    ptr, size, count, userData in
    guard let ptr, let userData else { return 0 }
    let t = Unmanaged<Transfer>.fromOpaque(userData).takeUnretainedValue()
    t.receiveHeaderLine(UnsafeRawBufferPointer(start: ptr, count: size * count))
    return size * count
}

extension Transfer {
    /// Loop thread.
    func receiveBody(_ bytes: UnsafeRawBufferPointer) -> Int {
        lastActivity = idleTime.now()
        switch kind {
        case .normal:
            guard body.count + bytes.count <= maxBodyBytes else {
                // Returning less than offered makes libcurl end the transfer (CURLE_WRITE_ERROR).
                bodyTooLarge = true
                return 0
            }
            body.append(contentsOf: bytes)
            bytesReceived += bytes.count
            return bytes.count
        case .stream:
            if !headDelivered { deliverHeadFromLoop() }
            guard let streamBuffer else { return bytes.count }
            if streamBuffer.offer(Data(bytes)) {
                bytesReceived += bytes.count
                return bytes.count
            }
            // libcurl keeps this data and hands it over again after curl_easy_pause(CONT).
            paused = true
            return ewsf_writefunc_pause()
        }
    }

    /// Loop thread. libcurl passes every header line of every response (including 1xx and the
    /// 401s of an NTLM/Negotiate handshake), so a status line starts a fresh header block.
    func receiveHeaderLine(_ bytes: UnsafeRawBufferPointer) {
        lastActivity = idleTime.now()
        var line = String(decoding: bytes, as: UTF8.self)
        while line.last == "\n" || line.last == "\r" || line.last == "\r\n" { line.removeLast() }
        if line.hasPrefix("HTTP/") {
            let parts = line.split(separator: " ", maxSplits: 2)
            status = parts.count > 1 ? Int(parts[1]) ?? 0 : 0
            headers = []
            // A body seen before this status line belonged to an interim response.
            if kind == .normal {
                bytesReceived -= body.count
                body.removeAll(keepingCapacity: true)
            }
        } else if line.isEmpty {
            if kind == .stream && !headDelivered && isFinalHead { deliverHeadFromLoop() }
        } else if let colon = line.firstIndex(of: ":") {
            let name = String(line[..<colon])
            let value = line[line.index(after: colon)...].drop { $0 == " " || $0 == "\t" }
            headers.append((name: name, value: String(value)))
        }
    }

    /// Whether a completed header block is the one the caller gets, rather than an interim one
    /// libcurl answers itself (1xx, the challenge of a connection-based auth handshake).
    private var isFinalHead: Bool {
        if status < 200 { return false }
        if status == 401 {
            switch request.identity.authKind {
            case .ntlm, .negotiate: return false
            default: return true
            }
        }
        if status == 407 && request.identity.proxy != nil { return false }
        return true
    }

    func deliverHeadFromLoop() {
        headDelivered = true
        metrics.recordLatency(.stream, nanoseconds: monotonicNanos() - startedAt)
        let head = HTTPResponseHead(status: status, headers: headers)
        request.cookies?.capture(from: head)
        deliverHead(head)
    }
}
