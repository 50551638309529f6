public import Foundation

/// Hardened one-shot XML parsing into an ``EWSXMLElement`` tree, with the same settings as the
/// EWS decoders (no DTD, no entities, no network, size/depth limits, UTF-8 only). The simulator
/// uses this to read requests.
public enum EWSXMLDocument {
    /// Parses exactly one document (an optional XML declaration, comments and whitespace
    /// around the root element are allowed).
    public static func parse(_ data: Data, limits: XMLParserLimits = .default) throws(EWSDecodingError) -> EWSXMLElement {
        let roots = try parseAll(data, limits: limits)
        guard roots.count == 1 else {
            throw EWSDecodingError(code: roots.isEmpty ? .truncated : .unexpectedContent, offset: data.count,
                expected: "exactly one root element", detail: "found \(roots.count)")
        }
        return roots[0]
    }

    /// Parses a sequence of concatenated documents (e.g. a captured GetStreamingEvents body).
    public static func parseAll(_ data: Data, limits: XMLParserLimits = .default) throws(EWSDecodingError)
        -> [EWSXMLElement]
    {
        let stream = XMLDocumentStream(limits: limits)
        var roots: [EWSXMLElement] = []
        let result: Result<Void, EWSDecodingError> = data.withUnsafeBytes { raw in
            let bytes = raw.bindMemory(to: UInt8.self)
            do throws(EWSDecodingError) {
                try stream.feed(bytes) { document in roots.append(document.element()) }
                try stream.finish()
                return .success(())
            } catch {
                return .failure(error)
            }
        }
        try result.get()
        return roots
    }
}
