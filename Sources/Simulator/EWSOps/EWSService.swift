import NIOHTTP1

/// POST /t/{tenant}/EWS/Exchange.asmx: authenticate, parse (and validate), apply the SOAP headers
/// (version, impersonation), then dispatch on the local name of the first Body child.
struct EWSService {
    let world: SimWorld

    static let knownVersions: Set<String> = [
        "Exchange2007", "Exchange2007_SP1", "Exchange2009", "Exchange2010", "Exchange2010_SP1", "Exchange2010_SP2",
        "Exchange2012", "Exchange2013", "Exchange2013_SP1", "Exchange2015", "Exchange2016", "V2015_10_05",
        "V2016_01_06", "V2016_04_13", "V2016_07_13", "V2016_10_10", "V2017_01_07", "V2017_04_14", "V2017_07_11",
        "V2017_10_09", "V2018_01_08",
    ]

    static func unauthorized(_ tenant: Tenant) -> SimResponse {
        var headers: HTTPHeaders = [:]
        headers.add(name: "WWW-Authenticate", value: "Basic realm=\"\(tenant.name).example\"")
        headers.add(name: "WWW-Authenticate", value: "Bearer client_id=\"00000002-0000-0ff1-ce00-000000000000\", trusted_issuers=\"sim\", token_types=\"app_asserted_user_v1 service_asserted_app_v1\", error=\"invalid_token\"")
        return .text(.unauthorized, "401 Unauthorized", headers: headers)
    }

    func handle(tenant: Tenant, request: SimRequest, validator: SchemaValidator?) -> (String, SimResponse) {
        let identity: SimIdentity
        switch world.authorize(tenant, request: request) {
        case .pass(let who): identity = who
        case .deny(let response):
            let gromox = world.lock.withLock { tenant.dialect } == .gromox && response.status == 401
            return ("Unauthorized", gromox ? GromoxEnvelope.unauthorized : response)
        }
        guard request.method == .POST else {
            return ("GET", .text(.methodNotAllowed, "Use POST with a SOAP envelope."))
        }
        let envelope: SimXMLNode
        switch SimXMLParser.parse(request.body, validator: validator) {
        case .success(let node): envelope = node
        case .failure(let error): return ("Invalid", fault(.schema(error)))
        }
        guard envelope.namespace == NS.soap, envelope.localName == "Envelope",
              let body = envelope.child(NS.soap, "Body"), let operation = body.children.first else {
            return ("Invalid", fault(EWSFault(code: "ErrorInvalidRequest", message: "The request is invalid.")))
        }
        let header = envelope.child(NS.soap, "Header")
        let name = operation.localName
        if let version = header?.child(NS.types, "RequestServerVersion")?.attribute("Version"),
           !Self.knownVersions.contains(version) {
            return (name, fault(EWSFault(
                code: "ErrorInvalidServerVersion", message: "The specified server version is invalid.")))
        }
        let (dialect, named) = world.lock.withLock { () -> (SimDialect, Mailbox?) in
            (tenant.dialect, Self.impersonationTarget(header, tenant: tenant, world: world))
        }
        let impersonated: Mailbox?
        do {
            impersonated = try impersonation(header, named: named, identity: identity, dialect: dialect)
        } catch {
            world.countRequest(tenant: tenant, operation: name, identity: identity.key, mailboxes: named.map { [$0] } ?? [])
            return (name, fault(error, dialect: dialect))
        }
        let context = EWSContext(world: world, tenant: tenant, identity: identity, impersonated: impersonated,
                                 headers: request.headers, dialect: dialect, operation: name)
        guard operation.namespace == NS.messages else {
            return (name, fault(EWSFault(code: "ErrorInvalidRequest", message: "The request is invalid.")))
        }
        let target = world.lock.withLock { () -> Mailbox? in
            let target = Self.targetMailbox(context, operation)
            // Server-side counters the client cannot write: a stream counts for every mailbox whose
            // subscription it names, anything else for its target mailbox.
            let counted = name == "GetStreamingEvents"
                ? world.streamMailboxes(tenant, Self.subscriptionIds(operation)) : target.map { [$0] } ?? []
            world.countRequestLocked(tenant: tenant, operation: name, identity: identity.key, mailboxes: counted)
            return target
        }
        let hasState = !(operation.child(NS.messages, "SyncState")?.trimmedText.isEmpty ?? true)
        let ticket: SimWorld.AdmissionTicket
        switch world.admit(tenant: tenant, identity: identity, operation: name, mailbox: target, hasSyncState: hasState,
                           chargedBudget: context.chargedBudget, arrivedAt: request.arrivedAt) {
        case .pass(let admitted): ticket = admitted
        case .reject(let response): return (name, response)
        }
        let response: SimResponse
        switch name {
        case "Subscribe": response = SubscriptionOps.subscribe(context, operation)
        case "Unsubscribe": response = SubscriptionOps.unsubscribe(context, operation)
        case "GetStreamingEvents": response = SubscriptionOps.getStreamingEvents(context, operation)
        case "SyncFolderItems": response = SyncOps.syncFolderItems(context, operation)
        case "SyncFolderHierarchy": response = SyncOps.syncFolderHierarchy(context, operation)
        case "GetItem": response = ItemOps.getItem(context, operation)
        case "FindItem": response = ItemOps.findItem(context, operation)
        case "GetFolder": response = ItemOps.getFolder(context, operation)
        case "FindFolder": response = ItemOps.findFolder(context, operation)
        case "ConvertId": response = ItemOps.convertId(context, operation)
        case "ResolveNames": response = ItemOps.resolveNames(context, operation)
        default:
            response = fault(EWSFault(code: "ErrorInvalidRequest", message: "The request is invalid."))
        }
        return (name, world.finish(ticket, response))
    }

    /// The mailbox a request acts on, for per-mailbox throttles, counters and mailbox-scoped
    /// faults: the impersonated one, else the first folder or item id naming a mailbox, else the
    /// caller's own (lock held).
    static func targetMailbox(_ context: EWSContext, _ operation: SimXMLNode) -> Mailbox? {
        if let impersonated = context.impersonated { return impersonated }
        func search(_ node: SimXMLNode, depth: Int) -> Mailbox? {
            if node.namespace == NS.types {
                if node.localName == "ItemId", let id = node.attribute("Id"), let ref = SimIds.parseItem(id),
                   ref.tenant == context.tenant.index, let mailbox = context.world.mailbox(tenant: ref.tenant, index: ref.mailbox) {
                    return mailbox
                }
                if node.localName == "FolderId", let id = node.attribute("Id"), let (mailbox, _) = context.world.resolveFolder(id) {
                    return mailbox.tenantIndex == context.tenant.index ? mailbox : nil
                }
                if node.localName == "DistinguishedFolderId",
                   let smtp = node.path((NS.types, "Mailbox"), (NS.types, "EmailAddress"))?.trimmedText,
                   let mailbox = context.world.mailbox(smtp: smtp) {
                    return mailbox.tenantIndex == context.tenant.index ? mailbox : nil
                }
            }
            guard depth < 4 else { return nil }
            for child in node.children { if let found = search(child, depth: depth + 1) { return found } }
            return nil
        }
        if let found = search(operation, depth: 0) { return found }
        if case .user(let index) = context.identity.kind { return context.tenant.mailboxes[index] }
        return nil
    }

    /// The subscription ids a GetStreamingEvents names.
    static func subscriptionIds(_ operation: SimXMLNode) -> [String] {
        operation.child(NS.messages, "SubscriptionIds")?.children(NS.types, "SubscriptionId").map(\.trimmedText) ?? []
    }

    /// The tenant's mailbox an ExchangeImpersonation header names, if any (lock held).
    static func impersonationTarget(_ header: SimXMLNode?, tenant: Tenant, world: SimWorld) -> Mailbox? {
        guard let sid = header?.path((NS.types, "ExchangeImpersonation"), (NS.types, "ConnectingSID")),
              let value = sid.children.first(where: { $0.namespace == NS.types })?.trimmedText,
              let mailbox = world.mailbox(smtp: value), mailbox.tenantIndex == tenant.index else { return nil }
        return mailbox
    }

    /// ExchangeImpersonation/ConnectingSID: exactly one of PrincipalName, SID, PrimarySmtpAddress,
    /// SmtpAddress, naming `named`. Failures are faults, because the header fails before the
    /// operation runs. Impersonating takes the impersonation right (`/_sim/access`).
    private func impersonation(_ header: SimXMLNode?, named: Mailbox?, identity: SimIdentity,
                               dialect: SimDialect) throws(EWSFault) -> Mailbox? {
        guard header?.path((NS.types, "ExchangeImpersonation"), (NS.types, "ConnectingSID")) != nil else { return nil }
        guard let mailbox = named else {
            if dialect == .gromox { throw EWSFault(code: "ErrorCannotFindUser", message: GromoxErrors.userNotFound) }
            throw EWSFault(code: "ErrorNonExistentMailbox", message: "The SMTP address has no mailbox associated with it.")
        }
        guard world.lock.withLock({ world.accessBook.allows(.impersonation, identity: identity, mailbox: mailbox) }) else {
            if dialect == .gromox { throw EWSFault(code: "ErrorImpersonateUserDenied", message: GromoxErrors.impersonateUserDenied) }
            throw EWSFault(code: "ErrorImpersonateUserDenied", message: "The account does not have permission to impersonate the requested user.")
        }
        return mailbox
    }

    /// An ErrorSchemaValidation fault for a facet the operation checks itself.
    static func schemaFault(_ violation: String) -> SimResponse {
        let error = SimXMLError(code: .schemaViolation, line: 0, column: 0, message: violation)
        let fault = EWSFault.schema(error)
        return .xml(.internalServerError, EWSEnvelope.fault(code: fault.code, message: fault.message, schemaViolation: error))
    }

    /// A request-level failure: Exchange's SOAP fault (HTTP 500), or gromox's (HTTP 200).
    private func fault(_ fault: EWSFault, dialect: SimDialect = .exchange) -> SimResponse {
        if dialect == .gromox { return .xml(.ok, GromoxEnvelope.fault(code: fault.code, message: fault.message)) }
        return .xml(.internalServerError, EWSEnvelope.fault(code: fault.code, message: fault.message, schemaViolation: fault.violation))
    }
}
