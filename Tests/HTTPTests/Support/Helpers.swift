import Foundation
@testable import HTTP
import Logging

typealias Mechanism = HTTPClient.Configuration.LoopMechanism

/// Both loop mechanisms, for tests of the loop itself.
let mechanisms: [Mechanism] = [.poll, .epoll]

func makeClient(_ mechanism: Mechanism = .epoll, _ configure: (inout HTTPClient.Configuration) -> Void = { _ in }) -> HTTPClient {
    var configuration = HTTPClient.Configuration()
    configuration.loopMechanism = mechanism
    configure(&configuration)
    return HTTPClient(configuration: configuration, logger: Logger(label: "test.http"))
}

extension HTTPClient {
    /// Runs `body` and shuts the client down afterwards on every path.
    func use<T>(_ body: (HTTPClient) async throws -> T) async rethrows -> T {
        do {
            let result = try await body(self)
            await shutdown()
            return result
        } catch {
            await shutdown()
            throw error
        }
    }
}

func httpError(_ body: () async throws -> Void) async -> HTTPError? {
    do {
        try await body()
        return nil
    } catch let error as HTTPError {
        return error
    } catch {
        return HTTPError(code: .init(name: "unexpected"), message: "\(error)")
    }
}

func get(_ url: String, identity: HTTPIdentity = .anonymous, timeouts: HTTPTimeouts = HTTPTimeouts()) -> HTTPRequest {
    HTTPRequest(method: "GET", url: url, identity: identity, timeouts: timeouts)
}
