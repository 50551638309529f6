import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix

/// The loopback server the benchmark talks to, run as its own process so its CPU is not charged
/// to the client. `/stream` sends a heartbeat chunk every `heartbeat`; `/small` is a 256-byte
/// keep-alive response.
enum BenchServer {
    static func run(port: Int, heartbeat: TimeAmount) async throws {
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.backlog, value: 8192)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(Handler(heartbeat: heartbeat))
                }
            }
            .bind(host: "127.0.0.1", port: port).get()
        // Unbuffered, so a script waiting for this line sees it at once.
        FileHandle.standardOutput.write(Data("listening \(channel.localAddress!.port!)\n".utf8))
        try await channel.closeFuture.get()
    }

    static let smallBody = ByteBuffer(repeating: UInt8(ascii: "x"), count: 256)
    // About the size of an EWS GetStreamingEvents heartbeat envelope.
    static let heartbeatChunk = ByteBuffer(string: String(repeating: "h", count: 300))

    final class Handler: ChannelInboundHandler, @unchecked Sendable {
        // @unchecked: NIO calls a handler only on its channel's event loop.
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart
        let heartbeat: TimeAmount
        var uri = ""
        var task: RepeatedTask?

        init(heartbeat: TimeAmount) { self.heartbeat = heartbeat }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let head): uri = head.uri
            case .body: break
            case .end:
                if uri.hasPrefix("/stream") {
                    context.write(wrapOutboundOut(.head(.init(version: .http1_1, status: .ok))), promise: nil)
                    context.writeAndFlush(wrapOutboundOut(.body(.byteBuffer(BenchServer.heartbeatChunk))), promise: nil)
                    let channel = context.channel
                    task = context.eventLoop.scheduleRepeatedTask(initialDelay: heartbeat, delay: heartbeat) { _ in
                        channel.writeAndFlush(HTTPServerResponsePart.body(.byteBuffer(BenchServer.heartbeatChunk)), promise: nil)
                    }
                } else {
                    var headers = HTTPHeaders()
                    headers.add(name: "Content-Length", value: "256")
                    context.write(wrapOutboundOut(.head(.init(version: .http1_1, status: .ok, headers: headers))), promise: nil)
                    context.write(wrapOutboundOut(.body(.byteBuffer(BenchServer.smallBody))), promise: nil)
                    context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
                }
            }
        }

        func channelInactive(context: ChannelHandlerContext) {
            task?.cancel()
            context.fireChannelInactive()
        }
    }
}
