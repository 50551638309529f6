/// Incremental decoder for a GetStreamingEvents response body.
///
/// Feed it byte chunks exactly as they arrive (split anywhere: inside a tag, inside a UTF-8
/// sequence; several envelopes per chunk). Each call returns the messages of every envelope
/// whose end tag arrived in that chunk. Memory is bounded by one envelope.
///
/// Not `Sendable`: owned by the one task/thread reading the stream.
public final class StreamingEventDecoder {
    private let stream: XMLDocumentStream
    /// An error found after some envelopes of the same chunk decoded: those are returned first,
    /// the error is thrown by the next call.
    private var pendingError: EWSDecodingError?

    public init(limits: XMLParserLimits = .default) {
        stream = XMLDocumentStream(limits: limits)
    }

    /// Total bytes fed so far.
    public var bytesConsumed: Int { stream.offset }

    public func feed(_ bytes: some Sequence<UInt8>) throws(EWSDecodingError) -> [StreamingEnvelope] {
        let result: Result<[StreamingEnvelope], EWSDecodingError>? = bytes.withContiguousStorageIfAvailable {
            buffer in feedResult(buffer)
        }
        if let result { return try result.get() }
        return try Array(bytes).withUnsafeBufferPointer { buffer in feedResult(buffer) }.get()
    }

    public func feed(_ buffer: UnsafeBufferPointer<UInt8>) throws(EWSDecodingError) -> [StreamingEnvelope] {
        try feedResult(buffer).get()
    }

    /// Declares the end of the body. Throws `.truncated` if an envelope was cut off.
    public func finish() throws(EWSDecodingError) {
        if let pendingError { throw pendingError }
        try stream.finish()
    }

    private func feedResult(_ buffer: UnsafeBufferPointer<UInt8>) -> Result<[StreamingEnvelope], EWSDecodingError> {
        if let pendingError { return .failure(pendingError) }
        var output: [StreamingEnvelope] = []
        do throws(EWSDecodingError) {
            try stream.feed(buffer) { (document) throws(EWSDecodingError) in
                switch try EWSResponseDecoder.decode(document: document) {
                case .getStreamingEvents(let envelopes): output += envelopes
                case .fault(let fault): output.append(.fault(fault))
                case let other:
                    throw EWSDecodingError(code: .unexpectedStructure, offset: stream.offset,
                        expected: "GetStreamingEventsResponse", detail: "got \(other.operation?.rawValue ?? "?")")
                }
            }
            return .success(output)
        } catch {
            if output.isEmpty { return .failure(error) }
            pendingError = error
            return .success(output)
        }
    }
}
