public import Foundation

/// What came back from one EWS HTTP call: a decoded SOAP body, or an HTTP-level failure.
public enum EWSCallOutcome: Hashable, Sendable {
    case response(EWSResponse)
    case httpFailure(EWSHTTPFailure)

    /// The action-table decision for a failure outcome (faults and HTTP failures); nil for a
    /// response, whose messages are classified one by one.
    public var failureDecision: EWSActionDecision? {
        switch self {
        case .response(.fault(let fault)): EWSActionTable.action(for: fault)
        case .response: nil
        case .httpFailure(let failure): EWSActionTable.action(for: failure)
        }
    }
}

extension EWSResponseDecoder {
    /// Classifies a complete HTTP response of a non-streaming call: 2xx and 500 bodies are decoded
    /// (EWS sends faults, and sometimes normal messages, with 500); a 500 without a SOAP body and
    /// every other status become an ``EWSHTTPFailure``. A 2xx body that does not decode throws.
    public func decode(status: Int, headers: [String: String] = [:], body: Data, as operation: EWSOperation)
        throws(EWSDecodingError) -> EWSCallOutcome
    {
        if status == 500 {
            guard let response = try? decode(body, as: operation) else {
                return .httpFailure(EWSHTTPFailure(kind: .serverError, status: status))
            }
            return .response(response)
        }
        if let failure = EWSHTTPFailure.classify(status: status, headers: headers) { return .httpFailure(failure) }
        return .response(try decode(body, as: operation))
    }
}
