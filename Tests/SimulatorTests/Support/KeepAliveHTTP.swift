import NIOCore
import NIOHTTP1
import NIOPosix

/// One keep-alive HTTP/1.1 connection for tests that need several requests on the SAME TCP
/// connection (NTLM authenticates connections). Requests are sent one at a time; the connection is
/// force-closed after 20 s so a broken test fails instead of hanging.
final class KeepAliveHTTP {
    let channel: any Channel
    let port: Int
    private var iterator: AsyncStream<RawHTTP.Response>.AsyncIterator

    private init(channel: any Channel, port: Int, responses: AsyncStream<RawHTTP.Response>) {
        self.channel = channel
        self.port = port
        self.iterator = responses.makeAsyncIterator()
    }

    static func connect(port: Int) async throws -> KeepAliveHTTP {
        let (responses, continuation) = AsyncStream<RawHTTP.Response>.makeStream()
        let channel = try await ClientBootstrap(group: RawHTTP.group)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    try channel.pipeline.syncOperations.addHandler(ResponseCollector(continuation: continuation))
                }
            }
            .connect(host: "127.0.0.1", port: port).get()
        channel.eventLoop.scheduleTask(in: .seconds(20)) { channel.close(promise: nil) }
        return KeepAliveHTTP(channel: channel, port: port, responses: responses)
    }

    func send(method: HTTPMethod = .POST, path: String, headers: HTTPHeaders = [:], body: String = "") async throws
        -> RawHTTP.Response {
        var all = headers
        all.replaceOrAdd(name: "Host", value: "127.0.0.1:\(port)")
        all.replaceOrAdd(name: "Content-Length", value: String(body.utf8.count))
        all.replaceOrAdd(name: "Content-Type", value: "text/xml; charset=utf-8")
        channel.write(HTTPClientRequestPart.head(HTTPRequestHead(version: .http1_1, method: method, uri: path, headers: all)),
                      promise: nil)
        var buffer = channel.allocator.buffer(capacity: body.utf8.count)
        buffer.writeString(body)
        channel.write(HTTPClientRequestPart.body(.byteBuffer(buffer)), promise: nil)
        try await channel.writeAndFlush(HTTPClientRequestPart.end(nil)).get()
        guard let response = await iterator.next() else { throw RawStream.Failure(reason: "connection closed") }
        return response
    }

    func close() async { try? await channel.close() }
}

/// Collects each response (head + body) and yields it whole; finishes when the channel closes.
private final class ResponseCollector: ChannelInboundHandler {
    typealias InboundIn = HTTPClientResponsePart
    private let continuation: AsyncStream<RawHTTP.Response>.Continuation
    private var head: HTTPResponseHead?
    private var body: [UInt8] = []

    init(continuation: AsyncStream<RawHTTP.Response>.Continuation) { self.continuation = continuation }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let value):
            head = value
            body = []
        case .body(var buffer):
            body += buffer.readBytes(length: buffer.readableBytes) ?? []
        case .end:
            if let head {
                continuation.yield(RawHTTP.Response(status: Int(head.status.code), headers: head.headers,
                                                    body: String(decoding: body, as: UTF8.self)))
            }
            head = nil
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        continuation.finish()
        context.fireChannelInactive()
    }
}
