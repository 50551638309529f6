import Foundation
import NIOCore
import NIOHTTP1
import Synchronization
import Testing
import TestSupport
@testable import HTTP
import Support

@Suite struct StreamingTests {
    /// Encodes `body` as HTTP/1.1 chunked framing with the given chunk sizes.
    static func chunked(_ body: [UInt8], sizes: [Int]) -> [UInt8] {
        var out: [UInt8] = []
        var offset = 0
        var i = 0
        while offset < body.count {
            let n = min(sizes[i % sizes.count], body.count - offset)
            out += Array(String(n, radix: 16).utf8) + [13, 10] + body[offset..<offset + n] + [13, 10]
            offset += n
            i += 1
        }
        return out + Array("0\r\n\r\n".utf8)
    }

    /// Decoded body bytes contained in a prefix of chunked framing (what a client can know).
    static func decodedBytes(inPrefix prefix: ArraySlice<UInt8>) -> Int {
        var i = prefix.startIndex
        var total = 0
        while true {
            guard let crlf = prefix[i...].firstIndex(of: 13), crlf + 1 < prefix.endIndex else { return total }
            let size = Int(String(decoding: prefix[i..<crlf], as: UTF8.self), radix: 16) ?? 0
            if size == 0 { return total }
            let dataStart = crlf + 2
            let available = max(0, min(size, prefix.endIndex - dataStart))
            total += available
            if available < size { return total }
            i = dataStart + size + 2
            if i >= prefix.endIndex { return total }
        }
    }

    @Test(arguments: mechanisms, [1, 2, 3, 7, 42] as [UInt64])
    func chunkBoundariesAnywhereAreDeliveredAsTheyArrive(mechanism: Mechanism, seed: UInt64) async throws {
        var rng = SplitMix64(seed: seed)
        let body = (0..<3000).map { _ in UInt8.random(in: 32...126, using: &rng) }
        let framing = Self.chunked(body, sizes: (0..<8).map { _ in Int.random(in: 1...700, using: &rng) })
        // Split the whole response (head included) at random offsets, including inside size lines
        // and CRLFs.
        let head = Array("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Type: text/xml\r\n\r\n".utf8)
        let bodyPieces = Self.randomSplit(framing, pieces: 25, rng: &rng)
        let writerBox = Mutex<ResponseWriter?>(nil)
        let connected = Gate()
        let server = try await TestServer.start(raw: true) { _, writer in
            writerBox.withLock { $0 = writer }
            writer.raw(head)
            connected.open()
        }
        try await makeClient(mechanism).use { client in
            let stream = try await client.stream(get(server.baseURL))
            #expect(stream.head.header("Content-Type") == "text/xml")
            await connected.wait()
            let writer = try #require(writerBox.withLock { $0 })
            var iterator = stream.makeAsyncIterator()
            var received: [UInt8] = []
            var sent = 0
            for piece in bodyPieces {
                try await writer.raw(Array(piece)).get()
                sent += piece.count
                // Wait for exactly the body bytes this prefix carries, before sending more: the
                // data reaches the consumer as it arrives, not at the end.
                let expected = Self.decodedBytes(inPrefix: framing[0..<sent])
                while received.count < expected {
                    let chunk = try #require(try await iterator.next())
                    received += chunk
                }
                #expect(received.count == expected)
            }
            #expect(try await iterator.next() == nil)
            #expect(received == body)
        }
        try await server.stop()
    }

    static func randomSplit(_ bytes: [UInt8], pieces: Int, rng: inout SplitMix64) -> [ArraySlice<UInt8>] {
        let cuts = Set((0..<pieces).map { _ in Int.random(in: 1..<bytes.count, using: &rng) }).sorted()
        var out: [ArraySlice<UInt8>] = []
        var start = 0
        for cut in cuts + [bytes.count] {
            out.append(bytes[start..<cut])
            start = cut
        }
        return out
    }

    @Test(arguments: mechanisms) func slowConsumerPausesTheTransferAndGetsEveryByteInOrder(mechanism: Mechanism) async throws {
        let total = 4 * 1024 * 1024
        let server = try await TestServer.start { _, writer in
            writer.head(.ok, [("Content-Length", "\(total)")])
            // Counting bytes, so any loss or reordering shows.
            var offset = 0
            while offset < total {
                let n = min(16 * 1024, total - offset)
                writer.chunk((offset..<offset + n).map { UInt8(truncatingIfNeeded: $0 / 7) })
                offset += n
            }
            writer.end()
        }
        try await makeClient(mechanism) {
            $0.streamHighWaterBytes = 64 * 1024
            $0.streamLowWaterBytes = 16 * 1024
        }.use { client in
            let stream = try await client.stream(get(server.baseURL))
            // Do not read: the buffer fills and the transfer is paused.
            await stream.buffer.waitUntilPaused()
            let stats = stream.buffer.stats
            #expect(stats.bufferedBytes >= 64 * 1024)
            var offset = 0
            var ok = true
            for try await chunk in stream {
                for byte in chunk {
                    if byte != UInt8(truncatingIfNeeded: offset / 7) { ok = false }
                    offset += 1
                }
            }
            #expect(ok, "bytes arrive in order")
            #expect(offset == total)
            let after = stream.buffer.stats
            #expect(after.pauseCount >= 1, "paused, then resumed (every byte arrived)")
            // Bounded: high water plus at most one libcurl read (CURLOPT_BUFFERSIZE, 16 KiB by
            // default; a resume may hand over what libcurl held back).
            #expect(after.maxBufferedBytes <= 64 * 1024 + 64 * 1024)
        }
        try await server.stop()
    }

    // The idle tests run the watchdog on a manual clock: silence is advanced, then checked
    // (`recheckIdleStreams` returns once the loop has looked), never waited for.

    @Test(arguments: mechanisms) func idleTimeoutFiresAfterSilence(mechanism: Mechanism) async throws {
        let clock = ManualClock()
        let server = try await TestServer.start { _, writer in
            writer.head()
            writer.chunk("<heartbeat/>")
        }
        try await makeClient(mechanism) { $0.idleClock = clock }.use { client in
            let stream = try await client.stream(get(server.baseURL, timeouts: HTTPTimeouts(idleRead: .milliseconds(500))))
            var iterator = stream.makeAsyncIterator()
            #expect(try await iterator.next() == Data("<heartbeat/>".utf8))
            clock.advance(by: .milliseconds(499))
            await client.recheckIdleStreams()
            #expect(!stream.buffer.isFinished, "not yet: 1 ms short of the limit")
            clock.advance(by: .milliseconds(1))
            await client.recheckIdleStreams()
            let error = await httpError { _ = try await iterator.next() }
            #expect(error?.code == .idleTimeout)
            #expect(error?.isRetryable == true)
            await server.closed.wait(atLeast: 1)
        }
        try await server.stop()
    }

    @Test(arguments: mechanisms) func heartbeatsKeepAStreamAlive(mechanism: Mechanism) async throws {
        let clock = ManualClock()
        let writerBox = Mutex<ResponseWriter?>(nil)
        let server = try await TestServer.start { _, writer in
            writerBox.withLock { $0 = writer }
            writer.head()
            writer.chunk("a")
        }
        try await makeClient(mechanism) { $0.idleClock = clock }.use { client in
            let stream = try await client.stream(get(server.baseURL, timeouts: HTTPTimeouts(idleRead: .seconds(4))))
            var iterator = stream.makeAsyncIterator()
            _ = try await iterator.next()
            let writer = try #require(writerBox.withLock { $0 })
            // Sixteen heartbeats 3 s apart span 48 s, twelve times the idle limit; each gap is
            // checked before the next heartbeat is sent.
            for _ in 0..<16 {
                clock.advance(by: .seconds(3))
                await client.recheckIdleStreams()
                writer.chunk("h")
                #expect(try await iterator.next() == Data("h".utf8))
            }
        }
        try await server.stop()
    }

    @Test(arguments: mechanisms) func timePausedByOurOwnSlownessDoesNotCountAsIdle(mechanism: Mechanism) async throws {
        let clock = ManualClock()
        let total = 2 * 1024 * 1024
        let server = try await TestServer.start { _, writer in
            writer.head()
            writer.chunk([UInt8](repeating: 7, count: total))  // then silence, connection open
        }
        try await makeClient(mechanism) {
            $0.streamHighWaterBytes = 32 * 1024
            $0.streamLowWaterBytes = 8 * 1024
            $0.idleClock = clock
        }.use { client in
            let stream = try await client.stream(get(server.baseURL, timeouts: HTTPTimeouts(idleRead: .milliseconds(500))))
            await stream.buffer.waitUntilPaused()
            // Paused for three idle periods: the watchdog looks and must not fire.
            clock.advance(by: .milliseconds(1500))
            await client.recheckIdleStreams()
            var iterator = stream.makeAsyncIterator()
            var count = 0
            while count < total, let chunk = try await iterator.next() { count += chunk.count }
            #expect(count == total, "everything buffered in the kernel still arrives after the pause")
            // Then the real silence is detected.
            clock.advance(by: .milliseconds(500))
            await client.recheckIdleStreams()
            let error = await httpError { _ = try await iterator.next() }
            #expect(error?.code == .idleTimeout)
        }
        try await server.stop()
    }

    @Test(arguments: mechanisms) func cancellingOneStreamRemovesOnlyThatTransfer(mechanism: Mechanism) async throws {
        let writers = Mutex<[String: ResponseWriter]>([:])
        let ready = AsyncCounter()
        let server = try await TestServer.start { request, writer in
            writers.withLock { $0[request.head.uri] = writer }
            writer.head()
            writer.chunk("hello")
            ready.increment()
        }
        try await makeClient(mechanism).use { client in
            let keep = try await client.stream(get(server.baseURL + "/keep"))
            let gotFirst = Gate()
            let doomed = Task {
                let stream = try await client.stream(get(server.baseURL + "/doomed"))
                var it = stream.makeAsyncIterator()
                _ = try await it.next()
                gotFirst.open()
                while try await it.next() != nil {}
            }
            await gotFirst.wait()
            doomed.cancel()
            #expect(await httpError { try await doomed.value }?.code == .cancelled)
            await server.closed.wait(atLeast: 1)
            // The other stream is untouched and still receives data.
            var it = keep.makeAsyncIterator()
            #expect(try await it.next() == Data("hello".utf8))
            writers.withLock { $0["/keep"] }?.chunk("still here")
            #expect(try await it.next() == Data("still here".utf8))
            #expect(server.closed.value == 1)
        }
        try await server.stop()
    }

    @Test(arguments: mechanisms) func thousandConcurrentStreamsOpenAndCloseCleanly(mechanism: Mechanism) async throws {
        let n = 1000
        let writers = Mutex<[String: ResponseWriter]>([:])
        let server = try await TestServer.start { request, writer in
            writers.withLock { $0[request.head.uri] = writer }
            writer.head()
            writer.chunk("<ok/>")
        }
        let client = makeClient(mechanism)
        let streams = try await withThrowingTaskGroup(of: (Int, HTTPStream).self) { group in
            for i in 0..<n {
                group.addTask {
                    let stream = try await client.stream(get(server.baseURL + "/\(i)", timeouts: HTTPTimeouts(connect: .seconds(30))))
                    var it = stream.makeAsyncIterator()
                    guard try await it.next() == Data("<ok/>".utf8) else { throw HTTPError(code: .transport, message: "bad first chunk") }
                    return (i, stream)
                }
            }
            return try await group.reduce(into: [:]) { $0[$1.0] = $1.1 }
        }
        #expect(streams.count == n)
        #expect(server.opened.value == n, "one connection per stream")
        // Half end on the server side (clean end of body), half are cancelled by the client.
        let ended = try await withThrowingTaskGroup(of: Bool.self) { group in
            for (i, stream) in streams where i % 2 == 0 {
                let writer = writers.withLock { $0["/\(i)"] }
                group.addTask {
                    writer?.end()
                    var it = stream.makeAsyncIterator()
                    return try await it.next() == nil
                }
            }
            return try await group.reduce(0) { $0 + ($1 ? 1 : 0) }
        }
        #expect(ended == n / 2)
        for (i, stream) in streams where i % 2 == 1 { stream.cancel() }
        await server.closed.wait(atLeast: n / 2)
        // Cleanly ended responses left keep-alive connections in the identity's cache; shutdown
        // closes them.
        await client.shutdown()
        await server.closed.wait(atLeast: n)
        #expect(server.closed.value == n)
        try await server.stop()
    }
}
