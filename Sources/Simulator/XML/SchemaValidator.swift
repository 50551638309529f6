import CLibXML2
import NIOConcurrencyHelpers

/// The official EWS schema compiled once (≈0.3 s) and shared. The compiled `xmlSchema` is
/// read-only after parsing; each validation gets its own validation context, because contexts are
/// not thread-safe.
final class SchemaValidator: @unchecked Sendable {
    // Safe: `schema` is written once in init and only read (by libxml2) afterwards; it is freed in
    // deinit when no validation can be running.
    private let schema: OpaquePointer

    struct LoadError: Error, Sendable { var path: String; var message: String }

    /// Loads `soap11-envelope.xsd` from `directory` (which imports messages.xsd and types.xsd).
    init(schemaDirectory directory: String) throws {
        let path = directory.hasSuffix("/") ? directory + "soap11-envelope.xsd" : directory + "/soap11-envelope.xsd"
        guard let parserContext = xmlSchemaNewParserCtxt(path) else {
            throw LoadError(path: path, message: "cannot create schema parser")
        }
        defer { xmlSchemaFreeParserCtxt(parserContext) }
        xmlSchemaSetParserStructuredErrors(parserContext, { _, _ in }, nil)
        guard let compiled = xmlSchemaParse(parserContext) else {
            throw LoadError(path: path, message: "schema did not compile")
        }
        schema = compiled
    }

    deinit { xmlSchemaFree(schema) }

    private static let cache = NIOLockedValueBox<[String: SchemaValidator]>([:])

    /// One compiled schema per directory per process: compiling takes ~0.3 s, and test suites or
    /// fleets that start many simulators in one process would otherwise pay it every time. The
    /// lock is held while compiling, so concurrent first callers wait instead of compiling too.
    static func shared(schemaDirectory directory: String) throws -> SchemaValidator {
        try cache.withLockedValue { cache in
            if let cached = cache[directory] { return cached }
            let validator = try SchemaValidator(schemaDirectory: directory)
            cache[directory] = validator
            return validator
        }
    }

    /// Returns the first violation, or nil when the document is valid.
    func validate(_ doc: xmlDocPtr) -> SimXMLError? {
        guard let context = xmlSchemaNewValidCtxt(schema) else {
            return SimXMLError(code: .schemaViolation, line: 0, column: 0, message: "validator unavailable")
        }
        defer { xmlSchemaFreeValidCtxt(context) }
        let box = FirstErrorBox()
        let unmanaged = Unmanaged.passRetained(box)
        defer { unmanaged.release() }
        xmlSchemaSetValidStructuredErrors(context, { userData, error in
            guard let userData, let error else { return }
            let box = Unmanaged<FirstErrorBox>.fromOpaque(userData).takeUnretainedValue()
            guard box.error == nil else { return }
            var text = error.pointee.message.map { String(cString: $0) } ?? "Schema violation."
            while text.last?.isWhitespace == true { text.removeLast() }
            box.error = SimXMLError(
                code: .schemaViolation, line: Int(error.pointee.line), column: Int(error.pointee.int2), message: text)
        }, unmanaged.toOpaque())
        let result = xmlSchemaValidateDoc(context, doc)
        if result == 0 { return nil }
        return box.error ?? SimXMLError(code: .schemaViolation, line: 0, column: 0, message: "Schema violation.")
    }
}

/// Collects the first structured error of one validation run; used on one thread only.
private final class FirstErrorBox {
    var error: SimXMLError?
}
