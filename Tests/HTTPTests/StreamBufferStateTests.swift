import Foundation
import Testing
@testable import HTTP

/// The buffer state machine without threads or I/O. Consumer continuations need a task, so the
/// tests drive the machine through `StreamBuffer` where a waiter is involved.
@Suite struct StreamBufferStateTests {
    let limits = StreamBufferState.Limits(highWater: 10, lowWater: 4, maxChunks: 3)

    @Test func pausesAtHighWaterAndAsksForResumeAtLowWater() async throws {
        let resumes = AsyncCounter()
        let buffer = StreamBuffer(limits: limits) { resumes.increment() }
        #expect(buffer.offer(Data(count: 6)))
        #expect(buffer.offer(Data(count: 6)))  // 12 >= 10 only after this one is taken
        #expect(!buffer.offer(Data(count: 1)), "full: the producer must pause")
        #expect(buffer.stats.pauseCount == 1)
        #expect(try await buffer.next()?.count == 6)
        #expect(resumes.value == 0, "6 bytes left is above the low-water mark")
        #expect(try await buffer.next()?.count == 6)
        #expect(resumes.value == 1, "drained to 0: one resume request")
        #expect(buffer.offer(Data(count: 1)))
        #expect(try await buffer.next()?.count == 1)
        #expect(resumes.value == 1)
    }

    @Test func pausesAtTheChunkLimitToo() {
        let buffer = StreamBuffer(limits: limits) {}
        for _ in 0..<3 { #expect(buffer.offer(Data(count: 1))) }
        #expect(!buffer.offer(Data(count: 1)))
    }

    @Test func aWaitingConsumerGetsDataDirectly() async throws {
        let buffer = StreamBuffer(limits: limits) {}
        let parked = Gate()
        let consumer = Task {
            parked.open()
            return try await buffer.next()
        }
        await parked.wait()
        // Whether or not the consumer is already parked, the chunk reaches it exactly once.
        #expect(buffer.offer(Data([1, 2, 3])))
        #expect(try await consumer.value == Data([1, 2, 3]))
        #expect(buffer.stats.bufferedBytes == 0)
    }

    @Test func bufferedDataIsDeliveredBeforeTheError() async throws {
        let buffer = StreamBuffer(limits: limits) {}
        #expect(buffer.offer(Data([1])))
        #expect(buffer.offer(Data([2])))
        buffer.finish(error: HTTPError(code: .idleTimeout, message: "x"))
        #expect(try await buffer.next() == Data([1]))
        #expect(try await buffer.next() == Data([2]))
        await #expect(throws: HTTPError.self) { try await buffer.next() }
        #expect(try await buffer.next() == nil, "after the error the sequence is over")
    }

    @Test func cancellationDiscardsBufferedData() async throws {
        let buffer = StreamBuffer(limits: limits) {}
        #expect(buffer.offer(Data([1])))
        buffer.finish(error: HTTPError.cancelledCall, discardBuffered: true)
        let error = await httpError { _ = try await buffer.next() }
        #expect(error?.code == .cancelled)
        #expect(buffer.offer(Data([2])), "late data after cancellation is dropped, not buffered")
        #expect(buffer.stats.bufferedBytes == 0)
    }

    @Test func cleanEndAfterData() async throws {
        let buffer = StreamBuffer(limits: limits) {}
        #expect(buffer.offer(Data([9])))
        buffer.finish(error: nil)
        buffer.finish(error: HTTPError(code: .transport, message: "late"))  // ignored: already ended
        #expect(try await buffer.next() == Data([9]))
        #expect(try await buffer.next() == nil)
    }
}
