import EWS
import HTTP
import Logging
import Store

extension TenantProbe {
    /// The steps after the credentials opened, over one short-lived EWS client.
    struct Probe {
        let tenant: Tenant
        let identity: HTTPIdentity
        let http: HTTPClient
        let logger: Logger
        let timeout: Duration

        func run(mailbox: String, second: String?, into steps: inout [Step]) async {
            let clock = ContinuousClock()
            let endpoint = EWSClient<ContinuousClock>.Endpoint(
                url: tenant.ewsURL, identity: identity, impersonation: tenant.impersonation,
                timeouts: HTTPTimeouts(connect: timeout, total: timeout, idleRead: timeout))
            let client = EWSClient(endpoint: endpoint, http: http,
                                   budget: IdentityBudget(maxConcurrent: 2, rate: 10, clock: clock), logger: logger)
            // One affinity group, anchored at the first mailbox (fact sheet §8.3).
            let cookies = AffinityCookieStore()
            let ews = TenantEWS(client: client, routeFor: {
                EWSClient<ContinuousClock>.Route(mailbox: $0, anchor: mailbox, cookies: cookies)
            })

            do {
                let page = try await ews.syncFolderItems(mailbox: mailbox, folder: "inbox", syncState: nil, maxChanges: 1)
                steps += [Step(.reachable, .ok, tenant.ewsURL), Step(.authentication, .ok, "accepted as \(tenant.identity)")]
                // The server answered: what it said decides (ErrorAccessDenied is an answer too).
                guard page.status.isSuccess else {
                    steps.append(Step(.impersonation, .failed, "\(page.status.responseCode): \(page.status.messageText ?? "")"))
                    return
                }
                steps.append(Step(.impersonation, .ok, tenant.impersonation
                    ? "can open \(mailbox) by impersonation" : "can open \(mailbox) (delegate access)"))
            } catch {
                steps += TenantProbe.classify(error, tenant: tenant, mailbox: mailbox)
                return
            }

            var subscriptions: [(mailbox: String, id: String)] = []
            do {
                subscriptions.append((mailbox, try await ews.subscribe(mailbox: mailbox, watch: .default).id))
                steps.append(Step(.subscribe, .ok, "streaming subscription on inbox"))
            } catch {
                steps.append(Step(.subscribe, .failed, "\(error)"))
                return
            }
            let single = await firstMessage(client, ids: subscriptions.map(\.id), anchor: mailbox, cookies: cookies, clock: clock)
            steps.append(single.step(.stream, ids: subscriptions.map(\.id), impersonation: tenant.impersonation))
            if steps.last?.ok == true, let second {
                do {
                    subscriptions.append((second, try await ews.subscribe(mailbox: second, watch: .default).id))
                    let grouped = await firstMessage(client, ids: subscriptions.map(\.id), anchor: mailbox, cookies: cookies, clock: clock)
                    steps.append(grouped.step(.groupedStream, ids: subscriptions.map(\.id), impersonation: tenant.impersonation))
                } catch {
                    steps.append(Step(.groupedStream, .failed, "subscribing \(second): \(error)"))
                }
            }
            guard steps.allSatisfy(\.ok) else {
                for s in subscriptions { try? await ews.unsubscribe(mailbox: s.mailbox, subscriptionID: s.id) }
                return
            }
            do {
                for s in subscriptions { try await ews.unsubscribe(mailbox: s.mailbox, subscriptionID: s.id) }
                steps.append(Step(.unsubscribe, .ok, subscriptions.count == 1 ? "subscription removed" : "subscriptions removed"))
            } catch {
                steps.append(Step(.unsubscribe, .failed, "\(error)"))
            }
        }

        /// Opens a GetStreamingEvents for `ids` (impersonating `anchor`) and reads until the
        /// first heartbeat, an error or the end.
        func firstMessage(_ client: EWSClient<ContinuousClock>, ids: [String], anchor: String,
                          cookies: AffinityCookieStore, clock: ContinuousClock) async -> FirstMessage {
            await withTaskGroup(of: FirstMessage.self) { group in
                group.addTask { await read(client, ids: ids, anchor: anchor, cookies: cookies) }
                group.addTask {
                    guard (try? await clock.sleep(for: timeout)) != nil else { return .failed("cancelled") }
                    return .failed("no heartbeat within \(timeout)")
                }
                let first = await group.next() ?? .failed("no answer")
                group.cancelAll()
                return first
            }
        }

        private func read(_ client: EWSClient<ContinuousClock>, ids: [String], anchor: String,
                          cookies: AffinityCookieStore) async -> FirstMessage {
            do {
                let request = try GetStreamingEventsRequest(subscriptionIDs: ids, connectionTimeoutMinutes: 1)
                let route = EWSClient<ContinuousClock>.Route(mailbox: anchor, anchor: anchor, cookies: cookies)
                let stream = try await client.openStream(request, route: route)
                defer { stream.cancel() }
                let decoder = StreamingEventDecoder()
                var refused: [String: String] = [:]
                for try await chunk in stream {
                    for envelope in try decoder.feed(chunk) {
                        switch envelope {
                        case .heartbeat, .notifications:
                            return refused.isEmpty ? .heartbeat : .refused(refused)
                        case .error(let error) where error.isConnectionLevel:
                            return .failed("\(error.status.responseCode): \(error.status.messageText ?? "")")
                        case .error(let error):
                            for id in error.subscriptionIDs { refused[id] = error.status.responseCode }
                        case .closed:
                            return refused.isEmpty ? .failed("the server closed the stream before its first heartbeat")
                                : .refused(refused)
                        case .fault(let fault):
                            return .failed("\(fault.responseCode ?? fault.faultCode): \(fault.message ?? fault.faultString)")
                        }
                    }
                }
                return refused.isEmpty ? .failed("the stream ended before its first heartbeat") : .refused(refused)
            } catch {
                return .failed("\(error)")
            }
        }
    }

    enum FirstMessage: Sendable {
        case heartbeat
        /// Ids the server refused (id → ResponseCode).
        case refused([String: String])
        case failed(String)

        func step(_ name: StepName, ids: [String], impersonation: Bool) -> Step {
            switch self {
            case .heartbeat:
                return Step(name, .ok, "first heartbeat received on a stream of \(ids.count) subscription\(ids.count == 1 ? "" : "s")")
            case .failed(let why):
                return Step(name, .failed, why)
            case .refused(let refused):
                let codes = Set(refused.values).sorted().joined(separator: ", ")
                // The anchor's own subscription accepted, the other member's refused: the server
                // binds subscriptions to the impersonated user (gromox); ewsfleet then gives each
                // mailbox a connection of its own.
                if name == .groupedStream, impersonation, let anchor = ids.first, refused[anchor] == nil {
                    return Step(name, .warning, "the server refused the second mailbox's subscription on a connection "
                        + "impersonating the first (\(codes)): it binds subscriptions to the impersonated user, so "
                        + "ewsfleet will give each mailbox its own connection (tenant grouping per_mailbox)")
                }
                return Step(name, .failed, "the server refused \(refused.count) of \(ids.count) subscriptions (\(codes))")
            }
        }
    }
}
