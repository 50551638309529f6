import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// A tiny HTTP/1 server for the two operational endpoints of `ewsfleet run`: `/metrics`
/// (Prometheus text format) and `/healthz`. Each request is answered by `route` and the connection
/// is closed; scrapers and probes open one connection per request anyway.
final class MetricsServer: Sendable {
    struct Response: Sendable {
        var status: HTTPResponseStatus
        var contentType: String
        var body: [UInt8]

        static func text(_ status: HTTPResponseStatus, _ text: String) -> Response {
            Response(status: status, contentType: "text/plain; charset=utf-8", body: Array(text.utf8))
        }
    }

    typealias Route = @Sendable (_ method: HTTPMethod, _ path: String) async -> Response

    private let host: String
    private let port: Int
    private let route: Route
    private let channel = Mutex<(any Channel)?>(nil)

    init(host: String, port: Int, route: @escaping Route) {
        self.host = host
        self.port = port
        self.route = route
    }

    /// Binds and returns the port actually bound (useful with port 0).
    func start() async throws -> Int {
        let route = self.route
        let bootstrap = ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                    try channel.pipeline.syncOperations.addHandler(MetricsHTTPHandler(route: route))
                }
            }
        let bound = try await bootstrap.bind(host: host, port: port).get()
        channel.withLock { $0 = bound }
        return bound.localAddress?.port ?? port
    }

    func stop() async {
        guard let bound = channel.withLock({ value -> (any Channel)? in defer { value = nil }; return value }) else { return }
        try? await bound.close()
    }
}

/// Collects one request and answers it through the server's route, off the event loop.
final class MetricsHTTPHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let route: MetricsServer.Route
    private var head: HTTPRequestHead?

    init(route: @escaping MetricsServer.Route) { self.route = route }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let requestHead): head = requestHead
        case .body: break
        case .end:
            guard let requestHead = head else { return }
            head = nil
            let path = String(requestHead.uri.split(separator: "?", maxSplits: 1).first ?? "")
            let route = self.route
            let promise = context.eventLoop.makePromise(of: MetricsServer.Response.self)
            promise.completeWithTask { await route(requestHead.method, path) }
            let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            promise.futureResult.whenSuccess { response in
                let (handler, context) = bound.value
                handler.write(context: context, response: response)
            }
        }
    }

    private func write(context: ChannelHandlerContext, response: MetricsServer.Response) {
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: response.contentType)
        headers.add(name: "Content-Length", value: String(response.body.count))
        headers.add(name: "Connection", value: "close")
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: response.status, headers: headers))),
                      promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: response.body)))), promise: nil)
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in channel.close(promise: nil) }
    }
}
