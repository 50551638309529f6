import Foundation
@testable import HTTP

#if canImport(Glibc)
import Glibc
#endif

/// A loopback port that refuses connections for as long as this object lives: the socket is bound
/// but never listens, so the kernel answers a SYN with RST, and no other test can bind the port
/// meanwhile. Stopping a server and reusing its port is not enough: with tests running in
/// parallel, another test's server can take the freed port before the connect (CI saw exactly that).
final class ClosedPort {
    let fd: Int32
    let port: Int

    init() throws {
        (fd, port) = try Self.bindLoopback()
    }

    /// A TCP socket bound to an ephemeral loopback port, not listening: the descriptor and port.
    static func bindLoopback() throws -> (fd: Int32, port: Int) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = 0
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) }
        }
        guard fd >= 0, bound == 0 else {
            if fd >= 0 { close(fd) }
            throw HTTPError(code: .transport, message: "bind failed")
        }
        let port = withUnsafeMutablePointer(to: &addr) {
            _ = $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) }
            return Int(UInt16(bigEndian: $0.pointee.sin_port))
        }
        return (fd, port)
    }

    deinit { close(fd) }
}
