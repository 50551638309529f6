import EWS
import Foundation
import Logging
import Store

/// The tenant's view of its subscriptions and its server: the start-up gate, refused and reused
/// ids (`SubscriptionTrust`), and grouping that fits the server.
extension TenantRuntime {
    // MARK: start-up gate

    /// Groups stay shut until every starting mailbox has joined one (or failed to subscribe), so a
    /// cold start opens each connection about once instead of once per join. The deadline allows
    /// for the subscribes the request rate lets through, plus half again, within `startupGateMax`.
    func startGate(_ initial: [Mailbox], group: inout DiscardingTaskGroup) {
        // Sync-only mailboxes never join a group: the gate does not wait for them.
        startupPending = Set(initial.filter { $0.enabled && $0.effectiveMode(in: tenant) == .notify }.map(\.id))
        guard !startupPending.isEmpty else {
            gateOpen = true
            return
        }
        let toSubscribe = startupPending.filter { persistedSubscriptionID($0) == nil }.count
        let seconds = 5 + 1.5 * Double(toSubscribe) / max(0.001, tenant.throttling.requestRate)
        let wait = min(settings.startupGateMax, .milliseconds(Int(seconds * 1000)))
        let clock = self.clock
        let input = self.input
        group.addTask {
            guard (try? await clock.sleep(for: wait)) != nil else { return }
            input.yield(.openGate)
        }
    }

    /// A starting mailbox joined a group, found none, failed to subscribe or went away.
    func arrived(_ mailboxID: Int64) {
        guard !gateOpen, startupPending.remove(mailboxID) != nil, startupPending.isEmpty else { return }
        openGate()
    }

    func openGate() {
        guard !gateOpen else { return }
        gateOpen = true
        startupPending = []
        for group in registry.groups.values { group.openGate() }
    }

    // MARK: refusals and reused ids

    func handle(_ refusals: StreamGroupMachine<C.Instant>.Refusals, group name: String) async {
        let server = registry.server(ofGroup: name)
        let refused = refusals.refused.keys.map { (id: $0, established: refusals.sent[$0]?.established ?? false) }
        if let suspects = trust.refused(refused, server: server, now: clock.now) { replace(suspects) }
        if tenant.impersonation, registry.grouping == .auto,
           trust.groupingRefused(sent: refusals.sent, refused: refusals.refused, anchorID: refusals.anchorID) {
            await regroup(.perMailbox, reason: "the server refused the other members' subscriptions on a grouped "
                + "connection (it binds a subscription to the impersonated user)")
        }
    }

    func handleReachability(group name: String, reachable: Bool) {
        let server = registry.server(ofGroup: name)
        if !reachable {
            trust.unreachable(server: server, now: clock.now)
        } else if let suspects = trust.reachable(server: server) {
            replace(suspects)
        }
    }

    /// Events for `mailbox` named folders it does not watch.
    func foreignEvents(_ mailbox: Mailbox, subscriptionID: String) async {
        if let suspects = trust.foreignEvents(mailboxID: mailbox.id, now: clock.now) { replace(suspects) }
    }

    /// Suspect ids are replaced by new subscriptions; the budget's request rate paces the
    /// subscribes. They are never unsubscribed: after a restart a stale id may name another
    /// mailbox's live subscription.
    func replace(_ suspects: SubscriptionTrust<C.Instant>.Suspects) {
        logger.notice("replacing subscriptions the server may no longer hold", metadata: [
            "server": "\(suspects.server ?? "-")", "mailboxes": "\(suspects.mailboxIDs.count)", "reason": "\(suspects.reason)",
        ])
        for id in suspects.mailboxIDs { actors[id]?.send(.subscriptionSuspect(suspects.reason)) }
    }

    /// A new subscription id: any other mailbox holding the same id holds a stale one.
    func recordSubscribed(_ mailbox: Mailbox, id: String) {
        if let stale = trust.subscribed(mailboxID: mailbox.id, id: id) { replace(stale) }
    }

    // MARK: grouping

    /// Switches how mailboxes share connections: every group closes and every subscribed mailbox
    /// joins again under the new rule. `reason` nil: an operator's choice (nothing to persist).
    func regroup(_ mode: StreamGrouping, reason: String?) async {
        guard mode != registry.grouping else { return }
        let closing = registry.regroup(mode)
        if let reason {
            logger.notice("streaming grouping changed", metadata: ["grouping": "\(mode.rawValue)", "reason": "\(reason)"])
            do {
                tenantRowVersion = try await writer.setGrouping(mode, reason: reason)
            } catch is LeaseLostError {
                // Counted and reported by the writer: the supervisor stops this runtime.
            } catch {
                logger.warning("could not persist the grouping mode", metadata: ["error": "\(error)"])
            }
        } else {
            logger.notice("streaming grouping changed by an operator", metadata: ["grouping": "\(mode.rawValue)"])
        }
        for group in closing { group.close() }
        for actor in actors.values { actor.send(.regroup) }
    }
}
