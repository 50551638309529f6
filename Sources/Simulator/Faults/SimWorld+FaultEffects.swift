/// What one-shot faults do to streams, subscriptions and sync states (lock held).
extension SimWorld {
    func applyOneShot(_ fault: SimFault, onlyOne: Bool) {
        switch fault.kind {
        case .dropStreams, .stallStreams:
            var targets = connections.values.filter { matches(fault.scope, connection: $0) }.sorted { $0.id < $1.id }
            if onlyOne { targets = pickOne(targets) }
            for connection in targets {
                if fault.kind == .stallStreams {
                    connection.sink.stall()
                } else if fault.withClosed {
                    let (flush, released) = connection.state.timeout()
                    release(released, from: connection)
                    if flush { connection.sink.scheduleFlush() }
                } else {
                    release(connection.state.peerClosed(), from: connection)
                    connection.sink.abort()
                }
            }
            faultBook.effect(fault.kind, targets.count)
        case .expireSubscriptions:
            var targets = subscriptions.values.filter { matches(fault.scope, subscription: $0) }.sorted { $0.id < $1.id }
            if onlyOne { targets = pickOne(targets) }
            for subscription in targets {
                if let connection = subscription.connection {
                    if connection.state.detach(subscription.id, code: fault.code, message: Self.messages[fault.code] ?? fault.code) {
                        connection.sink.scheduleFlush()
                    }
                    releaseIfDone(connection)
                }
                removeSubscription(subscription)
                faultBook.vanished[subscription.key] = fault.code
            }
            faultBook.effect(fault.kind, targets.count)
        case .invalidateSyncStates:
            var targets = tenants.flatMap(\.mailboxes).filter { matches(fault.scope, mailbox: $0) }
            if onlyOne { targets = pickOne(targets) }
            for mailbox in targets { faultBook.invalidSyncStates.insert(mailbox.smtp.lowercased()) }
        case .throttle:
            // A random throttle window (the scheduled fault itself never throttles).
            var window = fault
            window.rate = nil
            let id = faultBook.nextId
            faultBook.nextId += 1
            faultBook.active[id] = FaultBook.Active(id: id, fault: window, injectedAt: clock.now())
        default:
            break
        }
    }

    private func pickOne<T>(_ targets: [T]) -> [T] {
        guard !targets.isEmpty else { return [] }
        return [targets[Int.random(in: 0..<targets.count, using: &random)]]
    }

    func matches(_ scope: SimFault.Scope, mailbox: Mailbox) -> Bool {
        switch scope {
        case .all: true
        case .tenant(let name): tenants[mailbox.tenantIndex].name == name
        case .identity: false
        case .mailbox(let smtp): mailbox.smtp.lowercased() == smtp.lowercased()
        }
    }

    func matches(_ scope: SimFault.Scope, subscription: Subscription) -> Bool {
        if case .identity(let key) = scope { return subscription.identity == key }
        return matches(scope, mailbox: subscription.mailbox)
    }

    func matches(_ scope: SimFault.Scope, connection: StreamConnection) -> Bool {
        switch scope {
        case .all: return true
        case .tenant(let name): return tenants[connection.tenantIndex].name == name
        case .identity(let key): return connection.identity == key
        case .mailbox:
            return connection.state.attached.contains { id in
                subscriptions[Subscription.Key(tenant: connection.tenantIndex, id: id)].map { matches(scope, mailbox: $0.mailbox) } ?? false
            }
        }
    }

    /// Does a request (tenant, identity, target mailbox) fall in `scope`?
    func matches(_ scope: SimFault.Scope, tenant: Tenant, identity: String?, mailbox: Mailbox?) -> Bool {
        switch scope {
        case .all: true
        case .tenant(let name): tenant.name == name
        case .identity(let key): identity == key
        case .mailbox(let smtp): mailbox?.smtp.lowercased() == smtp.lowercased()
        }
    }

    /// A block_tenant fault covers this tenant (counts the refusal).
    func tenantBlocked(_ tenant: Tenant) -> Bool {
        lock.withLock {
            guard faultBook.active.values.contains(where: { $0.fault.kind == .blockTenant && $0.fault.scope == .tenant(tenant.name) })
            else { return false }
            faultBook.effect(.blockTenant)
            return true
        }
    }

    /// ErrorInvalidSyncStateData is owed to this mailbox's next stateful SyncFolderItems.
    func consumeSyncInvalidation(_ mailbox: Mailbox) -> Bool {
        guard faultBook.invalidSyncStates.remove(mailbox.smtp.lowercased()) != nil else { return false }
        faultBook.effect(.invalidateSyncStates)
        return true
    }
}
