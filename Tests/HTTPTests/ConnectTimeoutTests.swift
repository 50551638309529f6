import Foundation
import Testing
@testable import HTTP

#if canImport(Glibc)
import Glibc
#endif

#if os(Linux)

@Suite struct ConnectTimeoutTests {
    /// A listening socket that never accepts, with its tiny accept queue already full: the kernel
    /// drops further SYNs, so a new connection attempt hangs in connect.
    final class FullListener {
        let fd: Int32
        let port: Int
        var fillers: [Int32] = []

        init() throws {
            let (fd, port) = try ClosedPort.bindLoopback()
            self.fd = fd
            self.port = port
            guard listen(fd, 0) == 0 else { throw HTTPError(code: .transport, message: "listen failed") }
            var addr = sockaddr_in()
            addr.sin_family = sa_family_t(AF_INET)
            addr.sin_addr.s_addr = inet_addr("127.0.0.1")
            addr.sin_port = UInt16(port).bigEndian
            // Fill the accept queue (backlog 0 holds one; a few more to be safe).
            for _ in 0..<4 {
                let c = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
                _ = withUnsafePointer(to: &addr) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(c, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
                }
                fillers.append(c)
            }
        }

        deinit {
            for c in fillers { close(c) }
            close(fd)
        }
    }

    @Test(arguments: mechanisms) func aHangingConnectHitsTheSubSecondConnectTimeout(mechanism: Mechanism) async throws {
        let listener = try FullListener()
        await makeClient(mechanism).use { client in
            let started = ContinuousClock.now
            let error = await httpError {
                _ = try await client.send(get(
                    "http://127.0.0.1:\(listener.port)/",
                    timeouts: HTTPTimeouts(connect: .milliseconds(300), total: .seconds(30))))
            }
            #expect(error?.code == .connectTimeout, "\(String(describing: error))")
            #expect(error?.isRetryable == true)
            #expect(ContinuousClock.now - started < .seconds(10), "the connect timeout, not the total timeout")
        }
        withExtendedLifetime(listener) {}
    }
}
#endif
