/// The lasting stream faults, `end_streams` and `refuse_subscriptions`, which act on every
/// matching GetStreamingEvents as it opens (lock held).
extension SimWorld {
    /// The code every id of this request is refused with, if a refuse_subscriptions fault matches.
    func refusingFault(_ tenant: Tenant, identity: String, ids: [String]) -> String? {
        activeStreamFault(.refuseSubscriptions) { scope in
            matches(scope, tenant: tenant, identity: identity, mailboxes: streamMailboxes(tenant, ids))
        }?.code
    }

    /// How a new connection must end, if an end_streams fault matches it.
    func endingFault(_ connection: StreamConnection) -> SimFault.StreamEnd? {
        activeStreamFault(.endStreams) { matches($0, connection: connection) }?.streamEnd
    }

    /// end_streams at injection: the matching streams already open end the same way.
    func endOpenStreams(_ fault: SimFault) {
        let targets = connections.values.filter { matches(fault.scope, connection: $0) }.sorted { $0.id < $1.id }
        for connection in targets {
            let (flush, released) = connection.state.end(fault.streamEnd)
            release(released, from: connection)
            if flush { connection.sink.scheduleFlush() }
        }
        faultBook.effect(.endStreams, targets.count)
    }

    /// The mailboxes whose subscriptions `ids` name (GetStreamingEvents' target mailboxes).
    func streamMailboxes(_ tenant: Tenant, _ ids: [String]) -> [Mailbox] {
        var seen = Set<ObjectIdentifier>()
        var result: [Mailbox] = []
        for id in ids {
            let key = Subscription.Key(tenant: tenant.index, id: tenant.dialect == .gromox ? gromoxKey(id) : id)
            guard let mailbox = subscriptions[key]?.mailbox, seen.insert(ObjectIdentifier(mailbox)).inserted else { continue }
            result.append(mailbox)
        }
        return result
    }

    func matches(_ scope: SimFault.Scope, tenant: Tenant, identity: String, mailboxes: [Mailbox]) -> Bool {
        if case .mailbox = scope { return mailboxes.contains { matches(scope, mailbox: $0) } }
        return matches(scope, tenant: tenant, identity: identity, mailbox: nil)
    }

    private func activeStreamFault(_ kind: SimFault.Kind, _ matching: (SimFault.Scope) -> Bool) -> SimFault? {
        faultBook.active.values.sorted { $0.id < $1.id }
            .first { $0.fault.kind == kind && matching($0.fault.scope) }?.fault
    }
}
