import Logging
import Foundation
import NIOConcurrencyHelpers

/// Maps paths to services and keeps the per-operation request counters.
final class SimRouter: Sendable {
    let world: SimWorld
    let traffic: TrafficGenerator
    private let ews: EWSService
    private let autodiscover: AutodiscoverService
    private let tokens: TokenEndpoint
    private let recorder: RequestRecorder?
    private let logger: Logger
    private let base = NIOLockedValueBox("")

    /// Set by `SimulatorServer.start()` once the schema compiled (off the cooperative pool).
    private let validator = NIOLockedValueBox<SchemaValidator?>(nil)

    init(world: SimWorld, recorder: RequestRecorder?, logger: Logger) {
        self.world = world
        self.traffic = TrafficGenerator(world: world)
        self.ews = EWSService(world: world)
        self.autodiscover = AutodiscoverService(world: world)
        self.tokens = TokenEndpoint(world: world)
        self.recorder = recorder
        self.logger = logger
    }

    var baseURL: String { base.withLockedValue { $0 } }
    func setBaseURL(_ url: String) { base.withLockedValue { $0 = url } }
    func setValidator(_ schema: SchemaValidator?) { validator.withLockedValue { $0 = schema } }

    /// Runs on the blocking thread pool.
    func handle(_ request: SimRequest) -> SimResponse {
        var (operation, response, gromox) = route(request)
        // Exchange answers every EWS call with a request-id and echoes client-request-id on demand.
        if operation != "control" && !gromox {
            response = response.adding(header: "request-id", value: UUID().uuidString.lowercased())
            if request.headers.first(name: "return-client-request-id")?.lowercased() == "true",
               let clientId = request.headers.first(name: "client-request-id") {
                response = response.adding(header: "client-request-id", value: clientId)
            }
        }
        world.recordRequest(operation, status: response.status)
        logger.debug("request", metadata: ["path": "\(request.path)", "operation": "\(operation)", "status": "\(response.status)"])
        if let recorder, !request.body.isEmpty, operation != "control" {
            recorder.record(request.body, label: operation)
        }
        return response
    }

    /// The label for the counters, the answer, and whether a gromox tenant's EWS gave it.
    private func route(_ request: SimRequest) -> (String, SimResponse, Bool) {
        if request.path.hasPrefix("/_sim/") {
            return ("control", ControlAPI(world: world, traffic: traffic, baseURL: baseURL).handle(request), false)
        }
        let parts = request.path.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
        guard parts.count >= 3, parts[0] == "t", let tenant = world.lock.withLock({ world.tenantByName[parts[1]] }) else {
            return ("NotFound", .text(.notFound, "Not found."), false)
        }
        let rest = parts[2...].joined(separator: "/").lowercased()
        let (label, response) = route(request, tenant: tenant, rest: rest)
        world.countTenantRequest(tenant, label)
        // gromox's HTTP layer sends plain `text/xml`, no request-id and no streaming extras.
        if rest == "ews/exchange.asmx", world.lock.withLock({ tenant.dialect }) == .gromox {
            return (label, response.gromoxFramed(), true)
        }
        return (label, response, false)
    }

    private func route(_ request: SimRequest, tenant: Tenant, rest: String) -> (String, SimResponse) {
        if rest != "oauth2/v2.0/token", world.tenantBlocked(tenant) {
            // Exchange Online refuses EWS (and Autodiscover) to a tenant that has not allowed the app.
            return ("Blocked", .text(.forbidden, "403 Forbidden"))
        }
        switch rest {
        case "ews/exchange.asmx":
            return ews.handle(tenant: tenant, request: request, validator: validator.withLockedValue { $0 })
        case "autodiscover/autodiscover.svc":
            return autodiscover.handle(tenant: tenant, request: request,
                                       ewsURL: "\(baseURL)/t/\(tenant.name)/EWS/Exchange.asmx")
        case "oauth2/v2.0/token":
            return ("Token", tokens.handle(tenant: tenant, request: request))
        default:
            return ("NotFound", .text(.notFound, "Not found."))
        }
    }
}
