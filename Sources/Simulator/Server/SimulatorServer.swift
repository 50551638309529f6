public import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

/// ews-sim as a library: a world plus an HTTP server on loopback. `start()` returns the bound port
/// once the socket listens (explicit readiness); `shutdown()` closes everything gracefully.
///
/// Endpoints (per tenant `t`): `POST /t/{t}/EWS/Exchange.asmx` (EWS SOAP),
/// `POST /t/{t}/autodiscover/autodiscover.svc` (GetUserSettings), `POST /t/{t}/oauth2/v2.0/token`
/// (client credentials). Control and ground truth under `/_sim/`: `GET|POST tenants` (POST sets a
/// tenant's dialect), `POST deliver`, `POST traffic`, `GET mailboxes/{smtp}/items?folder=`,
/// `GET ledger?mailbox=&since=`, `GET stats`, and `POST read|update|move|delete|folders|folders/delete`;
/// faults: `POST|GET|DELETE faults`, `POST faults/release` (see `SimFault`); rights: `POST|GET|DELETE access`;
/// `POST restart`. The same operations are library calls on `world` (docs/ews-sim-faults.md).
public final class SimulatorServer: Sendable {
    public let world: SimWorld
    private let router: SimRouter
    private let group: MultiThreadedEventLoopGroup
    private let threadPool: NIOThreadPool
    private let channelBox = NIOLockedValueBox<(any Channel)?>(nil)
    private let logger: Logger
    private let tlsContext: NIOSSLContext?
    /// With `configuration.tls`: the PEM file holding the CA that signed the server certificate.
    public let caFile: String?

    /// Builds the world; the schema (when configured) is compiled by `start()`.
    public init(configuration: SimConfiguration, clock: SimClock = .continuous,
                logger: Logger = Logger(label: "ews-sim")) throws {
        let world = SimWorld(configuration: configuration, clock: clock)
        self.world = world
        let recorder = configuration.recordDirectory.map { RequestRecorder(directory: $0) }
        self.router = SimRouter(world: world, recorder: recorder, logger: logger)
        self.group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        self.threadPool = NIOThreadPool(numberOfThreads: 2)
        self.logger = logger
        if configuration.tls {
            let tls = try SimTLS.generate()
            let path = configuration.tlsCAPath ?? SimTLS.defaultCAPath()
            try tls.writeCA(to: path)
            self.tlsContext = try tls.makeServerContext()
            self.caFile = path
        } else {
            self.tlsContext = nil
            self.caFile = nil
        }
    }

    /// Binds and starts listening; returns the port (useful with port 0).
    public func start() async throws -> Int {
        threadPool.start()
        let router = self.router
        if let directory = world.configuration.schemaDirectory {
            // Reading and compiling the schema is blocking C work: keep it on the thread pool.
            router.setValidator(try await threadPool.runIfActive { try SchemaValidator.shared(schemaDirectory: directory) })
        }
        let threadPool = self.threadPool
        let tlsContext = self.tlsContext
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(ChannelOptions.backlog, value: 256)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let tlsContext { try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tlsContext)) }
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                    try channel.pipeline.syncOperations.addHandler(SimHTTPHandler(router: router, threadPool: threadPool))
                }
            }
        let channel = try await bootstrap.bind(host: world.configuration.host, port: world.configuration.port).get()
        channelBox.withLockedValue { $0 = channel }
        let port = channel.localAddress?.port ?? world.configuration.port
        router.setBaseURL("\(tlsContext == nil ? "http" : "https")://\(world.configuration.host):\(port)")
        logger.info("ews-sim listening", metadata: ["port": "\(port)"])
        return port
    }

    /// Random user traffic (also reachable as POST /_sim/traffic).
    public var traffic: TrafficGenerator { router.traffic }

    /// The base URL (`http://host:port`) once started.
    public var baseURL: String { router.baseURL }

    /// Stops traffic, closes the listener and all connections, and stops the threads.
    public func shutdown() async throws {
        router.traffic.stop()
        // Held responses and random fault schedules must not outlive the server.
        world.clearFaults()
        world.closeAllStreams()
        // The single event loop runs tasks in order: once this no-op ran, every Closed was written.
        try? await group.next().submit {}.get()
        if let channel = channelBox.withLockedValue({ $0 }) {
            try? await channel.close()
        }
        try await group.shutdownGracefully()
        try await threadPool.shutdownGracefully()
    }
}
