import NIOCore
import NIOHTTP1
import NIOPosix

/// A minimal HTTP/1.1 client on NIO for tests (independent of the project's HTTP module). One
/// request per connection. Every connection is force-closed after 20 s, so a broken test fails
/// instead of hanging.
enum RawHTTP {
    struct Response {
        var status: Int
        var headers: HTTPHeaders
        var body: String
    }

    static let group = MultiThreadedEventLoopGroup.singleton

    static func send(port: Int, method: HTTPMethod = .POST, path: String, headers: HTTPHeaders = [:],
                     body: String = "") async throws -> Response {
        try await open(port: port, method: method, path: path, headers: headers, body: body).readResponse()
    }

    /// With `holdBody`, only the head goes out (e.g. with `Expect: 100-continue`, to know the
    /// server has received it); `RawStream.sendBody` sends the body later.
    static func open(port: Int, method: HTTPMethod = .POST, path: String, headers: HTTPHeaders = [:],
                     body: String = "", holdBody: Bool = false) async throws -> RawStream {
        let (events, continuation) = AsyncStream<RawStream.Event>.makeStream()
        let channel = try await ClientBootstrap(group: group)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    // Forward 1xx heads so tests can see `100 Continue`.
                    try channel.pipeline.syncOperations.addHandler(HTTPRequestEncoder())
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(
                        HTTPResponseDecoder(leftOverBytesStrategy: .dropBytes, informationalResponseStrategy: .forward)))
                    try channel.pipeline.syncOperations.addHandler(CollectHandler(continuation: continuation))
                }
            }
            .connect(host: "127.0.0.1", port: port).get()
        channel.eventLoop.scheduleTask(in: .seconds(20)) { channel.close(promise: nil) }
        var allHeaders = headers
        allHeaders.replaceOrAdd(name: "Host", value: "127.0.0.1:\(port)")
        allHeaders.replaceOrAdd(name: "Content-Length", value: String(body.utf8.count))
        if allHeaders["Content-Type"].isEmpty { allHeaders.add(name: "Content-Type", value: "text/xml; charset=utf-8") }
        let head = HTTPRequestHead(version: .http1_1, method: method, uri: path, headers: allHeaders)
        let stream = RawStream(channel: channel, events: events)
        if holdBody {
            try await channel.writeAndFlush(HTTPClientRequestPart.head(head)).get()
        } else {
            channel.write(HTTPClientRequestPart.head(head), promise: nil)
            try await stream.sendBody(body)
        }
        return stream
    }
}

/// The response side of one connection, read incrementally (for streaming bodies).
final class RawStream {
    enum Event: Sendable {
        case head(HTTPResponseHead)
        case body([UInt8])
        case end
    }

    struct Failure: Error { var reason: String }

    let channel: any Channel
    private var iterator: AsyncStream<Event>.AsyncIterator
    private var buffer: [UInt8] = []
    private(set) var ended = false
    /// Number of body parts received (chunk boundaries as NIO saw them).
    private(set) var bodyParts = 0
    /// Body parts that completed two or more envelopes (several envelopes in one chunk).
    private(set) var partsWithSeveralEnvelopes = 0
    /// Body parts that ended inside an envelope (an envelope split across chunks).
    private(set) var partsEndingMidEnvelope = 0

    init(channel: any Channel, events: AsyncStream<Event>) {
        self.channel = channel
        self.iterator = events.makeAsyncIterator()
    }

    func readHead() async throws -> HTTPResponseHead {
        guard case .head(let head)? = await iterator.next() else { throw Failure(reason: "no response head") }
        return head
    }

    /// The next head and the whole body after it.
    func readResponse() async throws -> RawHTTP.Response {
        let head = try await readHead()
        var bytes: [UInt8] = []
        while let chunk = await nextBodyPart() { bytes += chunk }
        return RawHTTP.Response(status: Int(head.status.code), headers: head.headers, body: String(decoding: bytes, as: UTF8.self))
    }

    func nextBodyPart() async -> [UInt8]? {
        guard !ended else { return nil }
        switch await iterator.next() {
        case .body(let bytes):
            bodyParts += 1
            let text = String(decoding: bytes, as: UTF8.self)
            if text.components(separatedBy: "</Envelope>").count > 2 { partsWithSeveralEnvelopes += 1 }
            if !text.hasSuffix("</Envelope>") { partsEndingMidEnvelope += 1 }
            return bytes
        case .end, .head, nil:
            ended = true
            return nil
        }
    }

    /// The next complete `<Envelope>…</Envelope>` (or gromox's `<SOAP:Envelope>…`) of a streaming
    /// body, reassembled across chunks; nil when the body ended.
    func nextEnvelope() async -> String? {
        let markers = [Array("</Envelope>".utf8), Array("</SOAP:Envelope>".utf8)]
        while true {
            if let range = markers.compactMap({ find($0, in: buffer) }).min() {
                let envelope = Array(buffer[..<range])
                buffer.removeFirst(range)
                return String(decoding: envelope, as: UTF8.self)
            }
            guard let part = await nextBodyPart() else { return nil }
            buffer += part
        }
    }

    func close() async {
        try? await channel.close()
    }

    /// Sends the request body and its end (see `RawHTTP.open(holdBody:)`).
    func sendBody(_ body: String) async throws {
        var buffer = channel.allocator.buffer(capacity: body.utf8.count)
        buffer.writeString(body)
        channel.write(HTTPClientRequestPart.body(.byteBuffer(buffer)), promise: nil)
        try await channel.writeAndFlush(HTTPClientRequestPart.end(nil)).get()
    }

    private func find(_ marker: [UInt8], in bytes: [UInt8]) -> Int? {
        guard bytes.count >= marker.count else { return nil }
        for start in 0...(bytes.count - marker.count) where bytes[start] == marker[0] {
            if Array(bytes[start..<(start + marker.count)]) == marker { return start + marker.count }
        }
        return nil
    }
}

private final class CollectHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPClientResponsePart
    private let continuation: AsyncStream<RawStream.Event>.Continuation

    init(continuation: AsyncStream<RawStream.Event>.Continuation) { self.continuation = continuation }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head): continuation.yield(.head(head))
        case .body(var buffer): continuation.yield(.body(buffer.readBytes(length: buffer.readableBytes) ?? []))
        case .end:
            continuation.yield(.end)
            continuation.finish()
            context.close(promise: nil)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        continuation.finish()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        continuation.finish()
        context.close(promise: nil)
    }
}
