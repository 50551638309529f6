import Support
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1

/// Drives one streaming connection: registers it with the world, runs its heartbeat/timeout timer
/// on the injected clock, and writes drained envelopes as HTTP chunks. Chunking is seeded-random:
/// an envelope is sometimes split across two chunks and sometimes shares a chunk with the next.
final class StreamDriver: StreamSink, @unchecked Sendable {
    // Safe: `connection` and `timer` are guarded by `lock`; `random` is only used on the channel's
    // event loop (in `flush`); the rest is immutable.
    private let world: SimWorld
    private let channel: any Channel
    private let plan: StreamPlan
    private let lock = NIOLock()
    private var connection: StreamConnection?
    private var timer: Task<Void, Never>?
    private var random: SplitMix64
    private var ended = false
    /// Set by a stall fault (event loop only, like `ended`).
    private var stalled = false

    init(world: SimWorld, channel: any Channel, plan: StreamPlan) {
        self.world = world
        self.channel = channel
        self.plan = plan
        self.random = SplitMix64(simSeed: world.configuration.seed ^ UInt64(truncatingIfNeeded: ObjectIdentifier(channel).hashValue))
    }

    func start() {
        let (world, plan) = (self.world, self.plan)
        let connection = world.lock.withLock {
            world.openStream(SimWorld.StreamRequest(
                tenant: world.tenants[plan.tenantIndex], serverIndex: plan.serverIndex, owner: plan.owner,
                identity: plan.identity, budget: plan.budget, ids: plan.subscriptionIds, timeout: plan.timeout), sink: self)
        }
        lock.withLock { self.connection = connection }
        let task = connection.dialect == .gromox
            ? Self.gromoxTimer(world, connection) : Self.exchangeTimer(world, connection)
        lock.withLock { timer = task }
    }

    /// Exchange: a heartbeat every interval from the start, none within a second of the
    /// ConnectionTimeout, Closed at the timeout.
    private static func exchangeTimer(_ world: SimWorld, _ connection: StreamConnection) -> Task<Void, Never> {
        let heartbeat = world.configuration.heartbeat
        let start = connection.startedAt
        let end = start + connection.timeout
        return Task {
            var beat = 1
            while !Task.isCancelled {
                let nextBeat = start + heartbeat * beat
                let target = min(nextBeat, end)
                do { try await world.clock.sleep(untilOffset: target) } catch { return }
                if target == end {
                    world.streamTimedOut(connection)
                    return
                }
                beat += 1
                // No heartbeat within a second of expiry; Closed follows anyway.
                if end - nextBeat < .seconds(1) { continue }
                if !world.streamHeartbeat(connection) { return }
            }
        }
    }

    /// gromox: wakes an interval after its last message (any message pushes the tick back) and
    /// notices the ConnectionTimeout only then, so a 1-minute stream ends at 90 s, as captured.
    private static func gromoxTimer(_ world: SimWorld, _ connection: StreamConnection) -> Task<Void, Never> {
        let heartbeat = world.configuration.heartbeat
        let end = connection.startedAt + connection.timeout
        return Task {
            while !Task.isCancelled {
                do { try await world.clock.sleep(untilOffset: world.lastMessage(connection) + heartbeat) } catch { return }
                let now = world.clock.now()
                guard world.lastMessage(connection) + heartbeat <= now else { continue }  // written meanwhile
                if now >= end {
                    world.streamTimedOut(connection)
                    return
                }
                if !world.streamHeartbeat(connection) { return }
            }
        }
    }

    func scheduleFlush() {
        channel.eventLoop.execute { self.flush() }
    }

    func stall() {
        channel.eventLoop.execute { self.stalled = true }
    }

    func abort() {
        channel.eventLoop.execute {
            self.ended = true
            self.lock.withLock { self.timer }?.cancel()
            self.channel.close(promise: nil)
        }
    }

    func peerClosed() {
        let (connection, timer) = lock.withLock { (self.connection, self.timer) }
        timer?.cancel()
        if let connection { world.streamPeerClosed(connection) }
    }

    /// Runs on the event loop.
    private func flush() {
        guard !ended, !stalled, let connection = lock.withLock({ self.connection }) else { return }
        let perSubscription = world.configuration.randomChunking && random.chance(0.5)
        let (envelopes, finish) = world.drainStream(connection, envelopePerSubscription: perSubscription)
        for chunk in chunks(envelopes) {
            var buffer = channel.allocator.buffer(capacity: chunk.count)
            buffer.writeBytes(chunk)
            channel.writeAndFlush(HTTPServerResponsePart.body(.byteBuffer(buffer)), promise: nil)
        }
        if finish {
            ended = true
            lock.withLock { timer }?.cancel()
            let channel = self.channel
            channel.writeAndFlush(HTTPServerResponsePart.end(nil)).whenComplete { _ in channel.close(promise: nil) }
        }
    }

    private func chunks(_ envelopes: [String]) -> [[UInt8]] {
        guard world.configuration.randomChunking else { return envelopes.map { Array($0.utf8) } }
        var result: [[UInt8]] = []
        var carry: [UInt8] = []
        for envelope in envelopes {
            let bytes = carry + Array(envelope.utf8)
            carry = []
            if random.chance(0.25) {
                carry = bytes  // share a chunk with the next envelope
                continue
            }
            if random.chance(0.25), bytes.count > 2 {
                // Split on a byte boundary on purpose: clients must reassemble bytes, not strings.
                let cut = Int.random(in: 1..<bytes.count, using: &random)
                result.append(Array(bytes[..<cut]))
                result.append(Array(bytes[cut...]))
                continue
            }
            result.append(bytes)
        }
        if !carry.isEmpty { result.append(carry) }
        return result
    }
}
