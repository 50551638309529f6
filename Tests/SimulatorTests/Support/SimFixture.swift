import TestSupport
import Foundation
import NIOHTTP1
@testable import Simulator

/// An in-process ews-sim on an ephemeral port with a manual clock and the official schema.
final class SimFixture {
    enum Auth { case service, user(String), password(String), bearer(String), none }

    /// The official schemas, or nil in a clone without them (see `EWSSchemaDirectory`): the
    /// simulator then does not validate requests, and tests that need validation are skipped.
    static var schemaDirectory: String? { EWSSchemaDirectory.path }

    let clock: ManualClock
    let server: SimulatorServer
    let port: Int
    let tenants: [SimWorld.TenantInfo]
    var world: SimWorld { server.world }

    private init(clock: ManualClock, server: SimulatorServer, port: Int) {
        self.clock = clock
        self.server = server
        self.port = port
        self.tenants = server.world.tenantInfos(baseURL: "http://127.0.0.1:\(port)")
    }

    /// Runs `body` against a fresh simulator and always shuts it down.
    static func with<T>(_ configure: (inout SimConfiguration) -> Void = { _ in },
                        _ body: (SimFixture) async throws -> T) async throws -> T {
        var configuration = SimConfiguration()
        configuration.tenants = 2
        configuration.mailboxesPerTenant = 4
        configuration.itemsPerMailbox = 5
        configuration.serversPerTenant = 2
        configuration.schemaDirectory = schemaDirectory
        configure(&configuration)
        let clock = ManualClock()
        let server = try SimulatorServer(configuration: configuration, clock: SimClock(clock))
        let port = try await server.start()
        let fixture = SimFixture(clock: clock, server: server, port: port)
        do {
            let result = try await body(fixture)
            try await server.shutdown()
            return result
        } catch {
            try? await server.shutdown()
            throw error
        }
    }

    func ewsPath(_ tenant: Int = 0) -> String { "/t/\(tenants[tenant].name)/EWS/Exchange.asmx" }

    func headers(_ auth: Auth, tenant: Int = 0, extra: HTTPHeaders = [:]) -> HTTPHeaders {
        var headers = extra
        let info = tenants[tenant]
        func basic(_ user: String, _ password: String) -> String {
            "Basic " + Data("\(user):\(password)".utf8).base64EncodedString()
        }
        switch auth {
        case .service: headers.add(name: "Authorization", value: basic(info.username, info.password))
        case .user(let smtp): headers.add(name: "Authorization", value: basic(smtp, info.userPassword))
        case .password(let password): headers.add(name: "Authorization", value: basic(info.username, password))
        case .bearer(let token): headers.add(name: "Authorization", value: "Bearer " + token)
        case .none: break
        }
        return headers
    }

    func ews(_ body: String, tenant: Int = 0, auth: Auth = .service, headers extra: HTTPHeaders = [:]) async throws
        -> RawHTTP.Response {
        try await RawHTTP.send(port: port, path: ewsPath(tenant), headers: headers(auth, tenant: tenant, extra: extra), body: body)
    }

    func stream(_ body: String, tenant: Int = 0, auth: Auth = .service, headers extra: HTTPHeaders = [:]) async throws
        -> RawStream {
        try await RawHTTP.open(port: port, path: ewsPath(tenant), headers: headers(auth, tenant: tenant, extra: extra), body: body)
    }

    func control(_ method: HTTPMethod, _ path: String, json: String = "") async throws -> [String: Any] {
        let response = try await RawHTTP.send(port: port, method: method, path: path,
                                              headers: ["Content-Type": "application/json"], body: json)
        return (try JSONSerialization.jsonObject(with: Data(response.body.utf8))) as? [String: Any] ?? [:]
    }

    /// Subscribes `mailbox` (impersonated) to its inbox and returns the id and the Set-Cookie value.
    func subscribe(_ mailbox: String, tenant: Int = 0, folders: String = "<t:DistinguishedFolderId Id=\"inbox\"/>",
                   anchor: String? = nil) async throws -> (id: String, cookie: String?) {
        var extra: HTTPHeaders = [:]
        if let anchor {
            extra.add(name: "X-AnchorMailbox", value: anchor)
            extra.add(name: "X-PreferServerAffinity", value: "true")
        }
        let response = try await ews(Soap.subscribe(mailbox, folders: folders), tenant: tenant, headers: extra)
        let message = try Soap.messages(response.body)[0]
        guard let id = message.child(NS.messages, "SubscriptionId")?.trimmedText else {
            throw RawStream.Failure(reason: "no subscription id in \(response.body)")
        }
        return (id, response.headers.first(name: "Set-Cookie"))
    }
}
