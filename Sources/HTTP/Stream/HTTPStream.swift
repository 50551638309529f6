public import Foundation

/// A streaming response: the head is here; the body arrives as chunks exactly as libcurl reads
/// them (for GetStreamingEvents, each chunk goes straight to the streaming decoder).
///
/// Iterate once. Buffering is bounded: when the consumer falls behind, the transfer is paused at
/// the socket and resumed as the consumer catches up. Dropping the stream (or calling `cancel()`)
/// closes the transfer; the body ends with `HTTPError.idleTimeout` when the server goes silent.
public final class HTTPStream: AsyncSequence, Sendable {
    public typealias Element = Data

    public let head: HTTPResponseHead
    let buffer: StreamBuffer
    private let transfer: Transfer

    init(head: HTTPResponseHead, transfer: Transfer) {
        self.head = head
        self.transfer = transfer
        self.buffer = transfer.streamBuffer!
    }

    deinit { transfer.cancel() }

    public var status: Int { head.status }

    /// Closes the connection now; a pending or later `next()` throws `.cancelled`.
    public func cancel() { transfer.cancel() }

    public struct AsyncIterator: AsyncIteratorProtocol {
        let stream: HTTPStream

        public mutating func next() async throws -> Data? {
            let transfer = stream.transfer
            return try await withTaskCancellationHandler {
                try await stream.buffer.next()
            } onCancel: {
                transfer.cancel()
            }
        }
    }

    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(stream: self) }

    /// Collects the whole remaining body (tests and small responses).
    public func collect(maxBytes: Int = .max) async throws -> Data {
        var all = Data()
        for try await chunk in self {
            all.append(chunk)
            if all.count > maxBytes { throw HTTPError(code: .transport, message: "body exceeds \(maxBytes) bytes") }
        }
        return all
    }
}
