import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix

/// A closed-loop keep-alive HTTP client: each connection sends its next request as soon as the
/// previous response ended, until `deadline`. Counts responses by status.
final class ClosedLoopConnection: ChannelInboundHandler, @unchecked Sendable {
    // Safe: all state is touched only on the channel's event loop.
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundOut = HTTPClientRequestPart

    typealias Request = (path: String, headers: HTTPHeaders, body: String)
    private let makeRequest: @Sendable (Int) -> Request?
    private let onBody: @Sendable (Int, String) -> Void
    private let done: EventLoopPromise<(ok: Int, failed: Int)>
    private var body: [UInt8] = []
    private var sent = 0
    private var ok = 0
    private var failed = 0
    private var status = 0

    init(makeRequest: @escaping @Sendable (Int) -> Request?, onBody: @escaping @Sendable (Int, String) -> Void = { _, _ in },
         done: EventLoopPromise<(ok: Int, failed: Int)>) {
        self.makeRequest = makeRequest
        self.onBody = onBody
        self.done = done
    }

    func channelActive(context: ChannelHandlerContext) {
        sendNext(context: context)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            status = Int(head.status.code)
            body = []
        case .body(var buffer): body += buffer.readBytes(length: buffer.readableBytes) ?? []
        case .end:
            if status == 200 { ok += 1 } else { failed += 1 }
            onBody(sent - 1, String(decoding: body, as: UTF8.self))
            sendNext(context: context)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        done.succeed((ok, failed))
    }

    private func sendNext(context: ChannelHandlerContext) {
        guard let request = makeRequest(sent) else {
            done.succeed((ok, failed))
            context.close(promise: nil)
            return
        }
        sent += 1
        var headers = request.headers
        headers.replaceOrAdd(name: "Host", value: "127.0.0.1")
        headers.replaceOrAdd(name: "Content-Type", value: "text/xml; charset=utf-8")
        headers.replaceOrAdd(name: "Content-Length", value: String(request.body.utf8.count))
        context.write(wrapOutboundOut(.head(HTTPRequestHead(version: .http1_1, method: .POST, uri: request.path, headers: headers))), promise: nil)
        var buffer = context.channel.allocator.buffer(capacity: request.body.utf8.count)
        buffer.writeString(request.body)
        context.write(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
    }
}

/// Holds one GetStreamingEvents response open and counts events (one `<t:TimeStamp>` per event).
final class StreamCounter: ChannelInboundHandler, @unchecked Sendable {
    // Safe: `carry` is touched only on the channel's event loop; `events` is atomic via its box.
    typealias InboundIn = HTTPClientResponsePart
    let events: NIOLockedValueBox<Int>
    private var carry: [UInt8] = []
    private static let marker = Array("<t:TimeStamp>".utf8)

    init(events: NIOLockedValueBox<Int>) { self.events = events }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard case .body(var buffer) = unwrapInboundIn(data), let bytes = buffer.readBytes(length: buffer.readableBytes) else { return }
        let scan = carry + bytes
        var count = 0
        var index = 0
        let marker = Self.marker
        while index + marker.count <= scan.count {
            if scan[index] == marker[0] && scan[index + 1] == marker[1] && Array(scan[index..<(index + marker.count)]) == marker {
                count += 1
                index += marker.count
            } else {
                index += 1
            }
        }
        carry = Array(scan.suffix(marker.count - 1))
        if count > 0 { events.withLockedValue { $0 += count } }
    }
}

enum LoadClient {
    static func connect(port: Int, group: any EventLoopGroup, handler: @escaping @Sendable () -> any ChannelHandler) async throws -> any Channel {
        try await ClientBootstrap(group: group)
            .channelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    try channel.pipeline.syncOperations.addHandler(handler())
                }
            }
            .connect(host: "127.0.0.1", port: port).get()
    }
}
