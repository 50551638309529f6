import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix

/// One HTTP/1.1 connection. Collects a request, runs the router on the blocking thread pool (XML
/// parsing, schema validation and world calls stay off the event loop), and writes the answer. A
/// GetStreamingEvents answer turns the connection into a chunked stream driven by the world.
final class SimHTTPHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let router: SimRouter
    private let threadPool: NIOThreadPool
    private var head: HTTPRequestHead?
    /// When `head` was received, on the world's clock.
    private var headArrivedAt: Duration?
    private var body: [UInt8] = []
    private var tooLarge = false
    private var streaming: StreamDriver?
    /// NTLM authenticates the connection: one state per channel.
    private let ntlm = NTLMConnection()

    init(router: SimRouter, threadPool: NIOThreadPool) {
        self.router = router
        self.threadPool = threadPool
    }

    func channelActive(context: ChannelHandlerContext) {
        router.world.httpConnectionOpened(1)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        router.world.httpConnectionOpened(-1)
        streaming?.peerClosed()
        streaming = nil
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let requestHead):
            head = requestHead
            headArrivedAt = router.world.clock.now()
            body = []
            tooLarge = false
            // libcurl sends `Expect: 100-continue` for larger POSTs and otherwise waits a second
            // before sending the body; IIS answers at once, so do we.
            if requestHead.headers.first(name: "Expect")?.lowercased() == "100-continue" {
                context.writeAndFlush(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .continue))),
                                      promise: nil)
            }
        case .body(var buffer):
            if body.count + buffer.readableBytes > SimXMLParser.maxBodyBytes {
                tooLarge = true
            } else if let bytes = buffer.readBytes(length: buffer.readableBytes) {
                body += bytes
            }
        case .end:
            guard let requestHead = head else { return }
            head = nil
            if tooLarge {
                write(context: context, keepAlive: false,
                      response: .text(.payloadTooLarge, "Request body too large."))
                return
            }
            var received = SimRequest(head: requestHead, body: body)
            received.connection = ntlm
            received.arrivedAt = headArrivedAt
            let request = received
            body = []
            let keepAlive = requestHead.isKeepAlive
            let router = self.router
            let future = threadPool.runIfActive(eventLoop: context.eventLoop) { router.handle(request) }
            let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            future.whenComplete { result in
                let (handler, context) = bound.value
                switch result {
                case .success(.stream(let plan)):
                    handler.startStream(context: context, plan: plan)
                case .success(.deferred(let response, let wait)):
                    // Waits off the event loop; the write happens back on it.
                    let loop = context.eventLoop
                    Task {
                        await wait()
                        loop.execute {
                            let (handler, context) = bound.value
                            guard context.channel.isActive else { return }
                            handler.write(context: context, keepAlive: keepAlive, response: response)
                        }
                    }
                case .success(let response):
                    handler.write(context: context, keepAlive: keepAlive, response: response)
                case .failure:
                    handler.write(context: context, keepAlive: false,
                                  response: .text(.serviceUnavailable, "Server shutting down."))
                }
            }
        }
    }

    /// Writes a complete response; the future succeeds once its last byte went to the socket.
    @discardableResult
    private func write(context: ChannelHandlerContext, keepAlive: Bool, response: SimResponse) -> EventLoopFuture<Void>? {
        if case .advice(let inner, let written) = response {
            // The end part's promise is completed in order after the head and body bytes were
            // handed to the socket (through TLS, once the encrypted bytes were): the moment the
            // client could first read the advice.
            let done = write(context: context, keepAlive: keepAlive, response: inner)
            done?.whenSuccess { written() }
            return done
        }
        guard case .full(let status, var headers, let bytes) = response else { return nil }
        headers.replaceOrAdd(name: "Content-Length", value: String(bytes.count))
        if !keepAlive { headers.replaceOrAdd(name: "Connection", value: "close") }
        let head = HTTPResponseHead(version: .http1_1, status: status, headers: headers)
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        var buffer = context.channel.allocator.buffer(capacity: bytes.count)
        buffer.writeBytes(bytes)
        context.write(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
        let done = context.writeAndFlush(wrapOutboundOut(.end(nil)))
        if !keepAlive {
            let channel = context.channel
            done.whenComplete { _ in channel.close(promise: nil) }
        }
        return done
    }

    private func startStream(context: ChannelHandlerContext, plan: StreamPlan) {
        // The client may have gone while the request was on the thread pool; attaching its
        // subscriptions to a dead connection would hold them forever (no TTL, events lost).
        guard context.channel.isActive else { return }
        var headers = plan.headers
        headers.replaceOrAdd(name: "Content-Type", value: plan.bareFraming ? "text/xml" : "text/xml; charset=utf-8")
        headers.replaceOrAdd(name: "Transfer-Encoding", value: "chunked")
        if !plan.bareFraming {
            headers.replaceOrAdd(name: "X-NoBuffering", value: "1")
            headers.replaceOrAdd(name: "Connection", value: "close")
        }
        // Register first, then write the head: a client that has seen the head knows the stream
        // (and its ConnectionTimeout clock) exists. Body writes are scheduled on this loop, so
        // they still follow the head.
        let driver = StreamDriver(world: router.world, channel: context.channel, plan: plan)
        streaming = driver
        driver.start()
        context.writeAndFlush(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: headers))),
                              promise: nil)
    }
}
