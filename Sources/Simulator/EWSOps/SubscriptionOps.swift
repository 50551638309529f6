import NIOHTTP1

/// Subscribe (streaming), Unsubscribe and GetStreamingEvents.
enum SubscriptionOps {
    static func subscribe(_ context: EWSContext, _ operation: SimXMLNode) -> SimResponse {
        let world = context.world
        let gromox = context.dialect == .gromox
        guard let request = operation.child(NS.messages, "StreamingSubscriptionRequest") else {
            return .xml(.ok, EWSEnvelope.response("Subscribe", for: context) { w in
                EWSEnvelope.message(&w, "Subscribe", error: ("ErrorInvalidSubscriptionRequest",
                    "Only streaming subscriptions are supported by this server."))
            })
        }
        let allFolders = request.attribute("SubscribeToAllFolders") == "true" || request.attribute("SubscribeToAllFolders") == "1"
        let eventNames = request.child(NS.types, "EventTypes")?.children(NS.types, "EventType").map(\.trimmedText) ?? []
        let eventTypes = Set(eventNames.compactMap { SimEvent.Kind(rawValue: $0) })
        var cookieServer: String?
        let result: Result<String, EWSCodeError> = world.lock.withLock {
            do throws(EWSCodeError) {
                var mailbox: Mailbox?
                var folders: Set<UInt32> = []
                for node in EWSContext.folderIdNodes(request.child(NS.types, "FolderIds")) {
                    // gromox checks no rights here: it subscribes anyway and the folder stays silent.
                    let (owner, folder) = try context.resolveFolder(node, checked: !gromox)
                    if let mailbox, mailbox !== owner {
                        throw EWSCodeError(code: "ErrorInvalidSubscriptionRequest",
                                           message: "Subscriptions may only target folders of a single mailbox.")
                    }
                    mailbox = owner
                    folders.insert(folder.index)
                }
                if mailbox == nil {
                    guard allFolders else {
                        throw EWSCodeError(code: "ErrorInvalidSubscriptionRequest", message: "No folders were specified.")
                    }
                    mailbox = try context.defaultMailbox()
                    try context.checkAccess(mailbox!)
                }
                guard !eventTypes.isEmpty else {
                    throw EWSCodeError(code: "ErrorInvalidSubscriptionRequest", message: "No event types were specified.")
                }
                let deaf = gromox && (try? context.checkAccess(mailbox!)) == nil
                let id = world.createSubscription(mailbox!, owner: context.subscriptionOwner, identity: context.identity.key,
                                                  allFolders: allFolders, folders: folders, eventTypes: eventTypes, deaf: deaf)
                // Affinity: the back end serving the anchor answers with its override cookie (gromox
                // is a single server and sets none).
                if !gromox, context.prefersAffinity, let anchor = context.headers.first(name: "X-AnchorMailbox") {
                    let anchorBox = world.mailbox(smtp: anchor).flatMap { $0.tenantIndex == context.tenant.index ? $0 : nil }
                    cookieServer = world.serverName(anchorBox ?? mailbox!)
                }
                return .success(id)
            } catch {
                return .failure(error)
            }
        }
        var headers: HTTPHeaders = [:]
        if let server = cookieServer {
            headers.add(name: "Set-Cookie", value: "X-BackEndOverrideCookie=\(server)~\(cookieNumber(server)); path=/; HttpOnly")
        }
        return .xml(.ok, EWSEnvelope.response("Subscribe", for: context) { w in
            switch result {
            case .success(let id):
                EWSEnvelope.message(&w, "Subscribe") { w in w.element("m:SubscriptionId", id) }
            case .failure(let error):
                EWSEnvelope.message(&w, "Subscribe", error: (error.code, error.message))
            }
        }, headers: headers)
    }

    /// A stable number after the server name, like Exchange's `server~1941996295`.
    static func cookieNumber(_ server: String) -> UInt32 {
        var hash: UInt32 = 2_166_136_261
        for byte in server.utf8 { hash = (hash ^ UInt32(byte)) &* 16_777_619 }
        return hash & 0x7FFF_FFFF
    }

    static func unsubscribe(_ context: EWSContext, _ operation: SimXMLNode) -> SimResponse {
        var id = operation.child(NS.messages, "SubscriptionId")?.trimmedText ?? ""
        let gromox = context.dialect == .gromox
        if gromox, let fault = GromoxIds.malformedFault([id]) { return fault }
        if gromox { id = context.world.lock.withLock { context.world.gromoxKey(id) } }
        let failure: String? = context.world.lock.withLock {
            // Unsubscribe must reach the server holding the subscription (routing), like GetStreamingEvents.
            if !gromox, let routed = context.routedServer(), let embedded = SimIds.subscriptionServer(id),
               context.tenant.servers[routed] != embedded {
                return "ErrorSubscriptionNotFound"
            }
            return context.world.unsubscribe(id, tenant: context.tenant.index, owner: context.subscriptionOwner)
        }
        return .xml(.ok, EWSEnvelope.response("Unsubscribe", for: context) { w in
            if let code = failure {
                let text = gromox ? GromoxErrors.subscriptionNotFound : SimWorld.messages[code] ?? code
                EWSEnvelope.message(&w, "Unsubscribe", error: (code, text))
            } else {
                EWSEnvelope.message(&w, "Unsubscribe")
            }
        })
    }

    static func getStreamingEvents(_ context: EWSContext, _ operation: SimXMLNode) -> SimResponse {
        let ids = EWSService.subscriptionIds(operation)
        let minutes = Int(operation.child(NS.messages, "ConnectionTimeout")?.trimmedText ?? "") ?? 0
        func failure(_ code: String, _ message: String) -> SimResponse {
            .xml(.ok, EWSEnvelope.response("GetStreamingEvents", for: context) { w in
                EWSEnvelope.message(&w, "GetStreamingEvents", error: (code, message))
            })
        }
        guard (1...30).contains(minutes) else {
            // A schema facet (1..30): Exchange always validates, so answer as the schema would even
            // when ews-sim runs without --schema-dir.
            return EWSService.schemaFault("The 'ConnectionTimeout' element is invalid - the value must be between 1 and 30.")
        }
        if context.dialect == .gromox, let fault = GromoxIds.malformedFault(ids) { return fault }
        guard !ids.isEmpty else { return failure("ErrorInvalidArgument", "No subscription ids were specified.") }
        guard ids.count <= context.world.configuration.maxIdsPerConnection else {
            return failure("ErrorInvalidArgument",
                           "A GetStreamingEvents request may name at most \(context.world.configuration.maxIdsPerConnection) subscriptions.")
        }
        let server: Int = context.world.lock.withLock {
            if context.dialect == .gromox { return 0 }  // one server, no routing
            if let routed = context.routedServer() { return routed }
            // No routing information at all: land on the server named by the first id, if any.
            if let embedded = SimIds.subscriptionServer(ids[0]),
               let index = context.tenant.servers.firstIndex(of: embedded) { return index }
            return 0
        }
        return .stream(StreamPlan(tenantIndex: context.tenant.index, serverIndex: server, owner: context.subscriptionOwner,
                                  identity: context.identity.key, budget: context.chargedBudget, subscriptionIds: ids,
                                  timeout: .seconds(60 * minutes), headers: [:]))
    }
}
