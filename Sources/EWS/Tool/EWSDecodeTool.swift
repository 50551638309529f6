public import Foundation

/// Operator tool logic behind `ewsfleet ews decode`: turns a captured EWS response or a raw
/// GetStreamingEvents body into one JSON object per decoded message.
public enum EWSDecodeTool {
    /// Decodes `data` and calls `emit` with one JSON line (no trailing newline) per message, as
    /// each envelope completes. Throws at the first malformed envelope (lines before it were
    /// already emitted).
    public static func decode(
        _ data: Data, limits: XMLParserLimits = .default, emit: (String) -> Void
    ) throws(EWSDecodingError) {
        let stream = XMLDocumentStream(limits: limits)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        func write(_ line: DecodedLine) {
            // Encoding plain Codable structs into JSON cannot fail.
            guard let json = try? encoder.encode(line) else { return }
            emit(String(decoding: json, as: UTF8.self))
        }
        let result: Result<Void, EWSDecodingError> = data.withUnsafeBytes { raw in
            do throws(EWSDecodingError) {
                try stream.feed(raw.bindMemory(to: UInt8.self)) { (document) throws(EWSDecodingError) in
                    switch try EWSResponseDecoder.decode(document: document) {
                    case .getStreamingEvents(let envelopes):
                        for envelope in envelopes { write(.streaming(envelope)) }
                    case let response:
                        write(.response(response))
                    }
                }
                try stream.finish()
                return .success(())
            } catch {
                return .failure(error)
            }
        }
        try result.get()
    }

    /// All lines at once (tests, small captures).
    public static func jsonLines(_ data: Data, limits: XMLParserLimits = .default) throws(EWSDecodingError) -> [String] {
        var lines: [String] = []
        try decode(data, limits: limits) { lines.append($0) }
        return lines
    }
}

/// The JSON shape of one decoded message: `operation`, `kind`, plus the payload.
private enum DecodedLine: Encodable {
    case streaming(StreamingEnvelope)
    case response(EWSResponse)

    private enum Key: String, CodingKey {
        case operation, kind, notifications, error, fault, messages, response, action, unknownCode
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Key.self)
        switch self {
        case .streaming(let envelope):
            try container.encode(EWSOperation.getStreamingEvents.rawValue, forKey: .operation)
            switch envelope {
            case .heartbeat: try container.encode("heartbeat", forKey: .kind)
            case .closed: try container.encode("closed", forKey: .kind)
            case .notifications(let notifications):
                try container.encode("notifications", forKey: .kind)
                try container.encode(notifications, forKey: .notifications)
            case .error(let error):
                try container.encode("error", forKey: .kind)
                try container.encode(error, forKey: .error)
                try encodeAction(EWSActionTable.action(for: error), into: &container)
            case .fault(let fault):
                try container.encode("fault", forKey: .kind)
                try container.encode(fault, forKey: .fault)
                try encodeAction(EWSActionTable.action(for: fault), into: &container)
            }
        case .response(let response):
            if let operation = response.operation { try container.encode(operation.rawValue, forKey: .operation) }
            switch response {
            case .fault(let fault):
                try container.encode("fault", forKey: .kind)
                try container.encode(fault, forKey: .fault)
                try encodeAction(EWSActionTable.action(for: fault), into: &container)
                return
            case .subscribe(let messages): try container.encode(messages, forKey: .messages)
            case .unsubscribe(let messages): try container.encode(messages, forKey: .messages)
            case .syncFolderItems(let messages): try container.encode(messages, forKey: .messages)
            case .syncFolderHierarchy(let messages): try container.encode(messages, forKey: .messages)
            case .getItem(let messages): try container.encode(messages, forKey: .messages)
            case .findItem(let messages): try container.encode(messages, forKey: .messages)
            case .getFolder(let messages): try container.encode(messages, forKey: .messages)
            case .findFolder(let messages): try container.encode(messages, forKey: .messages)
            case .getUserSettings(let settings): try container.encode(settings, forKey: .response)
            case .getStreamingEvents: break  // emitted per envelope above
            }
            try container.encode("response", forKey: .kind)
        }
    }

    private func encodeAction(_ decision: EWSActionDecision, into container: inout KeyedEncodingContainer<Key>) throws {
        try container.encode(String(describing: decision.action), forKey: .action)
        if decision.isUnknown { try container.encode(true, forKey: .unknownCode) }
    }
}
