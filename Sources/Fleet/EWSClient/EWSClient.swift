import EWS
import Foundation
import HTTP
import Logging

/// One tenant's EWS endpoint: builds each request with the codec, spends the tenant's throttling
/// budget, sends it through the shared libcurl transport with the tenant's identity, decodes the
/// answer and turns every failure into an `EWSCallError` classified by the one action table.
/// An advised back-off pauses exactly the budget the server named.
final class EWSClient<C: Clock<Duration>>: Sendable where C.Instant: Sendable {
    struct Endpoint: Sendable {
        var url: String
        var identity: HTTPIdentity
        var serverVersion: EWSServerVersion = .exchange2013SP1
        var impersonation: Bool
        var timeouts = HTTPTimeouts(connect: .seconds(10), total: .seconds(120), idleRead: .seconds(90))
    }

    /// Routing for one call: whose mailbox, and the affinity group it belongs to.
    struct Route: Sendable {
        var mailbox: String
        /// X-AnchorMailbox: the group's anchor (defaults to the mailbox itself).
        var anchor: String?
        var cookies: AffinityCookieStore?
        var preferAffinity = true
    }

    let endpoint: Endpoint
    let http: HTTPClient
    let budget: IdentityBudget<C>
    let decoder = EWSResponseDecoder()
    let logger: Logger

    init(endpoint: Endpoint, http: HTTPClient, budget: IdentityBudget<C>, logger: Logger) {
        self.endpoint = endpoint
        self.http = http
        self.budget = budget
        self.logger = logger
    }

    /// Sends one operation and returns its decoded response (never a fault: faults throw).
    func call(_ request: some EWSOperationRequest, route: Route) async throws -> EWSResponse {
        let kind: IdentityBudget<C>.Kind =
            switch request.operation {
            case .syncFolderItems, .syncFolderHierarchy: .sync
            case .subscribe: .listen
            default: .normal
            }
        let permit = try await budget.acquire(kind, mailbox: route.mailbox)
        var receivedAt: ContinuousClock.Instant?
        do {
            let http = try await send(request, route: route)
            receivedAt = http.receivedAt
            let response = try decodeChecked(status: http.status, headers: http.headers, body: http.body,
                                             operation: request.operation)
            // The advice also comes as a response message (ResponseClass="Error", HTTP 200), which
            // the caller sees as a failed status, not a thrown error: honour it here all the same,
            // or every other call charged to that budget goes on while it is advised to stop.
            for status in response.statuses where !status.isSuccess {
                if await pauseIfAdvised(EWSCallError(status: status), mailbox: route.mailbox, receivedAt: receivedAt) { break }
            }
            await budget.release(permit, outcome: .success)
            return response
        } catch let error as EWSCallError {
            // The advice is honoured before the permit goes back, so no call waiting for this
            // permit can slip out between the two.
            await pauseIfAdvised(error, mailbox: route.mailbox, receivedAt: receivedAt)
            await budget.release(permit, outcome: outcome(of: error))
            throw error
        } catch {
            await budget.release(permit, outcome: .other)
            throw error
        }
    }

    /// Opens a GetStreamingEvents connection. Streaming calls hold no concurrency permit: they
    /// count against the hanging-connection limit, which the stream-group planner respects
    /// instead. Opens of one identity go one at a time (`IdentityBudget.acquireStreamOpen`).
    func openStream(_ request: GetStreamingEventsRequest, route: Route) async throws -> HTTPStream {
        try await budget.acquireStreamOpen(anchor: route.mailbox)
        do {
            let stream = try await sendStream(request, route: route)
            await budget.releaseStreamOpen()
            return stream
        } catch {
            await budget.releaseStreamOpen()
            throw error
        }
    }

    private func sendStream(_ request: GetStreamingEventsRequest, route: Route) async throws -> HTTPStream {
        let stream: HTTPStream
        do {
            stream = try await http.stream(httpRequest(request, route: route))
        } catch let error as HTTPError {
            throw try Self.classify(transport: error)
        }
        guard stream.status == 200 else {
            // A refused stream carries an ordinary EWS body (fault or error message): read it whole.
            let body = try? await stream.collect(maxBytes: 1 << 20)
            let error = classify(status: stream.status, headers: stream.head.headers, body: body ?? Data(),
                                 operation: .getStreamingEvents)
            // An advised back-off holds every call charged to the same budget, streams and syncs alike.
            await pauseIfAdvised(error, mailbox: route.mailbox, receivedAt: .now)
            throw error
        }
        return stream
    }

    static var soapHeaders: [(name: String, value: String)] {
        [("Content-Type", "text/xml; charset=utf-8"), ("Accept", "text/xml")]
    }

    /// The SOAP POST for one operation, with impersonation and the affinity headers of its group.
    func httpRequest(_ request: some EWSOperationRequest, route: Route) -> HTTPRequest {
        var http = HTTPRequest(method: "POST", url: endpoint.url, headers: Self.soapHeaders,
                               body: request.envelope(headers: headers(for: route)), identity: endpoint.identity,
                               cookies: route.cookies, timeouts: endpoint.timeouts)
        http.setAffinity(anchorMailbox: route.anchor ?? route.mailbox, preferServerAffinity: route.preferAffinity)
        return http
    }

    func headers(for route: Route) -> EWSRequestHeaders {
        EWSRequestHeaders(serverVersion: endpoint.serverVersion,
                          impersonation: endpoint.impersonation ? .smtpAddress(route.mailbox) : nil)
    }

    private func send(_ request: some EWSOperationRequest, route: Route) async throws -> HTTPResponse {
        do {
            return try await http.send(httpRequest(request, route: route))
        } catch let error as HTTPError {
            throw try Self.classify(transport: error)
        }
    }

    /// Decodes a response; HTTP-level failures, SOAP faults and malformed bodies become errors.
    func decodeChecked(status: Int, headers: [(name: String, value: String)], body: Data,
                       operation: EWSOperation) throws(EWSCallError) -> EWSResponse {
        if status != 200 { throw classify(status: status, headers: headers, body: body, operation: operation) }
        do {
            let decoded = try decoder.decode(body, as: operation)
            if case .fault(let fault) = decoded { throw EWSCallError(fault: fault) }
            return decoded
        } catch let error as EWSDecodingError {
            throw EWSCallError(decoding: error)
        } catch let error as EWSCallError {
            throw error
        } catch {
            throw EWSCallError(decision: EWSActionDecision(action: EWSActionTable.unknownDefault, code: "Unknown"),
                               message: "\(error)")
        }
    }

    /// A non-200 answer: a 500 with a SOAP body is a fault (or an ordinary response, which exchangelib
    /// also parses); anything else is classified by its HTTP status.
    func classify(status: Int, headers: [(name: String, value: String)], body: Data, operation: EWSOperation) -> EWSCallError {
        if status == 500, let decoded = try? decoder.decode(body, as: operation) {
            if case .fault(let fault) = decoded { return EWSCallError(fault: fault) }
            // The streaming decoder returns a refused GetStreamingEvents' fault as an envelope.
            if case .getStreamingEvents(let envelopes) = decoded,
               let fault = envelopes.lazy.compactMap({ if case .fault(let f) = $0 { f } else { nil } }).first {
                return EWSCallError(fault: fault)
            }
            if let failed = decoded.statuses.first(where: { !$0.isSuccess }) { return EWSCallError(status: failed) }
        }
        var map: [String: String] = [:]
        for (name, value) in headers { map[name] = value }
        let failure = EWSHTTPFailure.classify(status: status, headers: map)
            ?? EWSHTTPFailure(kind: .unexpectedStatus, status: status)
        return EWSCallError(http: failure)
    }

    static func classify(transport error: HTTPError) throws -> EWSCallError {
        if error.code == .cancelled || error.code == .shutdown { throw CancellationError() }
        return EWSCallError(transport: error)
    }

    private func outcome(of error: EWSCallError) -> IdentityBudget<C>.Outcome {
        if case .reduceConcurrency = error.decision.action { return .tooManyConcurrent }
        return .other
    }

    /// ErrorServerBusy and friends: pause the budget the server named, for the advised time.
    /// ConcurrentSyncCalls names the target mailbox's sync calls; anything else is the budget the
    /// call was charged to: with impersonation the identity's budget for that target mailbox (EWS
    /// charges a copy of the target's budget, fact sheet §8.1), else the identity's own.
    /// `receivedAt`: when the advising response was in; the delay until the pause holds is
    /// `ewsf_backoff_advice_lag` (a request sent after the advice but before the pause would be a
    /// back-off violation).
    @discardableResult
    func pauseIfAdvised(_ error: EWSCallError, mailbox: String, receivedAt: ContinuousClock.Instant?) async -> Bool {
        guard case .retryLater(let hint) = error.decision.action, let ms = hint.backOffMilliseconds, ms > 0 else { return false }
        let scope: IdentityBudget<C>.PauseScope =
            switch hint.budget {
            case .mailboxSync: .mailboxSync(mailbox)
            default: endpoint.impersonation ? .mailbox(mailbox) : .identity
            }
        logger.notice("EWS advised a back-off", metadata: [
            "mailbox": "\(mailbox)", "code": "\(error.decision.code)", "backoff_ms": "\(ms)", "budget": "\(hint.budget)",
        ])
        await budget.pause(scope, for: .milliseconds(ms))
        if let receivedAt { FleetMetrics.adviceHonoured(lag: ContinuousClock.now - receivedAt) }
        return true
    }
}

extension EWSClient {
    /// Autodiscover GetUserSettings for a batch of mailboxes (fact sheet §8.3a): the
    /// ExternalEwsUrl + GroupingInformation that decide affinity groups.
    func userSettings(autodiscoverURL: String, mailboxes: [String]) async throws -> GetUserSettingsResponse {
        let request = try GetUserSettingsRequest(mailboxes: mailboxes, endpoint: autodiscoverURL)
        let http = HTTPRequest(method: "POST", url: autodiscoverURL, headers: Self.soapHeaders, body: request.envelope(),
                               identity: endpoint.identity, cookies: nil, timeouts: endpoint.timeouts)
        let permit = try await budget.acquire(.normal, mailbox: mailboxes.first ?? "")
        let response: HTTPResponse
        do {
            response = try await self.http.send(http)
            await budget.release(permit, outcome: .success)
        } catch let error as HTTPError {
            await budget.release(permit, outcome: .other)
            throw try Self.classify(transport: error)
        } catch {
            await budget.release(permit, outcome: .other)
            throw error
        }
        guard case .getUserSettings(let settings) = try decodeChecked(
            status: response.status, headers: response.headers, body: response.body, operation: .getUserSettings)
        else { throw EWSCallError(decision: EWSActionDecision(action: .giveUp, code: "MalformedResponse"), message: "no GetUserSettings response") }
        return settings
    }
}
