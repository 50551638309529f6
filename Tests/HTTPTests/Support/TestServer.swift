import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import Synchronization

/// A loopback HTTP/1.1 server the tests start in-process. Each request (head + body) is handed to
/// `handler` together with a `ResponseWriter`, which may answer at once or much later, in pieces.
final class TestServer: Sendable {
    struct Request: Sendable {
        var head: HTTPRequestHead
        var body: String
        var connectionID: Int
        func header(_ name: String) -> String? { head.headers.first(name: name) }
    }

    typealias Handler = @Sendable (Request, ResponseWriter) -> Void

    let channel: any Channel
    /// Each server has its own event loop thread, so a test that floods its server (1,000
    /// connections through a debug build of NIO) does not delay the servers of parallel tests.
    let group: MultiThreadedEventLoopGroup
    /// Connections accepted / closed so far.
    let opened = AsyncCounter()
    let closed = AsyncCounter()
    let requests = AsyncCounter()

    var port: Int { channel.localAddress!.port! }
    var baseURL: String { "http://127.0.0.1:\(port)" }

    private init(channel: any Channel, group: MultiThreadedEventLoopGroup) {
        self.channel = channel
        self.group = group
    }

    /// `raw`: no HTTP codec; the handler gets the request head as text and writes raw bytes.
    static func start(tls: NIOSSLContext? = nil, raw: Bool = false, handler: @escaping Handler) async throws -> TestServer {
        let box = Mutex<TestServer?>(nil)
        let ids = Atomic<Int>(0)
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 4096)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                let server = box.withLock { $0 }!
                let id = ids.wrappingAdd(1, ordering: .relaxed).newValue
                server.opened.increment()
                channel.closeFuture.whenComplete { _ in server.closed.increment() }
                do {
                    if let tls {
                        try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tls))
                    }
                    if raw {
                        try channel.pipeline.syncOperations.addHandler(RawRequestHandler(server: server, id: id, handler: handler))
                    } else {
                        try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: false)
                        try channel.pipeline.syncOperations.addHandler(RequestHandler(server: server, id: id, handler: handler))
                    }
                    return channel.eventLoop.makeSucceededVoidFuture()
                } catch {
                    return channel.eventLoop.makeFailedFuture(error)
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        let server = TestServer(channel: channel, group: group)
        box.withLock { $0 = server }
        return server
    }

    func stop() async throws {
        try await channel.close()
        try await group.shutdownGracefully()
    }
}

/// Writes a response from any thread (Channel writes hop to its event loop).
final class ResponseWriter: Sendable {
    let channel: any Channel
    init(channel: any Channel) { self.channel = channel }

    @discardableResult
    func head(_ status: HTTPResponseStatus = .ok, _ headers: [(String, String)] = []) -> EventLoopFuture<Void> {
        let head = HTTPResponseHead(version: .http1_1, status: status, headers: HTTPHeaders(headers))
        return channel.writeAndFlush(HTTPServerResponsePart.head(head))
    }

    @discardableResult
    func chunk(_ text: String) -> EventLoopFuture<Void> { chunk(Array(text.utf8)) }

    @discardableResult
    func chunk(_ bytes: [UInt8]) -> EventLoopFuture<Void> {
        channel.writeAndFlush(HTTPServerResponsePart.body(.byteBuffer(ByteBuffer(bytes: bytes))))
    }

    @discardableResult
    func end() -> EventLoopFuture<Void> { channel.writeAndFlush(HTTPServerResponsePart.end(nil)) }

    /// A whole response with Content-Length.
    func respond(_ status: HTTPResponseStatus = .ok, _ headers: [(String, String)] = [], body: String = "") {
        head(status, headers + [("Content-Length", "\(body.utf8.count)")])
        if !body.isEmpty { chunk(body) }
        end()
    }

    /// Raw mode only: bytes straight onto the socket.
    @discardableResult
    func raw(_ bytes: [UInt8]) -> EventLoopFuture<Void> {
        channel.writeAndFlush(ByteBuffer(bytes: bytes))
    }

    func close() { channel.close(promise: nil) }
}

private final class RequestHandler: ChannelInboundHandler, @unchecked Sendable {
    // @unchecked: NIO calls a handler only on its channel's event loop.
    typealias InboundIn = HTTPServerRequestPart
    let server: TestServer
    let id: Int
    let handler: TestServer.Handler
    var head: HTTPRequestHead?
    var body = ""

    init(server: TestServer, id: Int, handler: @escaping TestServer.Handler) {
        self.server = server
        self.id = id
        self.handler = handler
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let h):
            head = h
            body = ""
        case .body(let buffer):
            body += String(buffer: buffer)
        case .end:
            guard let head else { return }
            server.requests.increment()
            handler(TestServer.Request(head: head, body: body, connectionID: id), ResponseWriter(channel: context.channel))
        }
    }
}

private final class RawRequestHandler: ChannelInboundHandler, @unchecked Sendable {
    // @unchecked: NIO calls a handler only on its channel's event loop.
    typealias InboundIn = ByteBuffer
    let server: TestServer
    let id: Int
    let handler: TestServer.Handler
    var text = ""

    init(server: TestServer, id: Int, handler: @escaping TestServer.Handler) {
        self.server = server
        self.id = id
        self.handler = handler
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        text += String(buffer: unwrapInboundIn(data))
        guard let end = text.range(of: "\r\n\r\n") else { return }
        let firstLine = text[..<end.lowerBound].split(separator: "\r\n").first ?? ""
        let parts = firstLine.split(separator: " ")
        text = ""
        let head = HTTPRequestHead(
            version: .http1_1, method: HTTPMethod(rawValue: String(parts.first ?? "GET")),
            uri: parts.count > 1 ? String(parts[1]) : "/")
        server.requests.increment()
        handler(TestServer.Request(head: head, body: "", connectionID: id), ResponseWriter(channel: context.channel))
    }
}
