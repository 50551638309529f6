import Foundation
import Simulator
import Store
import TestSupport
import Testing

/// The fleet under ews-sim's injected faults: every change still lands exactly once.
@Suite(.requiresDatabase) struct FaultTests {
    @Test(.serialized, arguments: SimDialect.allCases) func anExpiredSubscriptionIsResubscribedAndCaughtUp(dialect: SimDialect) async throws {
        try await FleetFixture.with("expired", dialect: dialect) { f in
            try await f.addAll()
            let fleet = f.startSupervisor()
            try await f.waitUntil("every mailbox streams") { try await f.streamingCount() == f.allMailboxes.count }
            let mailbox = f.tenants[0].mailboxes[0]
            let subscribes = f.sim.world.statsSnapshot().count("Subscribe", status: 200)
            _ = try f.sim.world.injectFault(SimFault(.expireSubscriptions, scope: .mailbox(mailbox)))
            let ids = try f.sim.world.deliver(mailbox: mailbox, count: 2)  // while the subscription is gone
            try await f.waitUntil("resubscribed") { f.sim.world.statsSnapshot().count("Subscribe", status: 200) > subscribes }
            try await f.waitUntil("the mail is caught up") { try await f.changeCount(ids) == 2 }
            try await f.waitUntil("converged") { try await f.converged(mailbox) }
            await fleet.stop()
        }
    }

    @Test(.serialized, arguments: SimDialect.allCases) func anInvalidSyncStateTriggersAFullResyncWithOnlyRealDiffs(dialect: SimDialect) async throws {
        try await FleetFixture.with("badstate", dialect: dialect) { f in
            try await f.addAll()
            let fleet = f.startSupervisor()
            let mailbox = f.tenants[1].mailboxes[0]
            try await f.waitUntil("converged") {
                guard try await f.streamingCount() == f.allMailboxes.count else { return false }
                return try await f.converged(mailbox)
            }
            let before = try await f.count("SELECT count(*) AS n FROM changes WHERE mailbox = $1", [PostgresValue(mailbox)])
            _ = try f.sim.world.injectFault(SimFault(.invalidateSyncStates, scope: .mailbox(mailbox)))
            let ids = try f.sim.world.deliver(mailbox: mailbox, count: 1)
            try await f.waitUntil("the new mail is committed after the full resync") { try await f.changeCount(ids) == 1 }
            try await f.waitUntil("converged") { try await f.converged(mailbox) }
            let after = try await f.count("SELECT count(*) AS n FROM changes WHERE mailbox = $1", [PostgresValue(mailbox)])
            #expect(after == before + 1)  // the resync re-emitted nothing that had not changed
            let verdict = try await f.outboxVerdict()
            #expect(verdict.isClean, "\(verdict)")
            let full = try await f.count("""
                SELECT count(*) AS n FROM folder_sync s JOIN mailboxes m ON m.id = s.mailbox_id
                 WHERE m.smtp_address = $1 AND s.last_full_sync_at IS NOT NULL
                """, [PostgresValue(mailbox)])
            #expect(full == 1)
            #expect(f.sim.world.statsSnapshot().faultEffects["invalidate_sync_states", default: 0] >= 1)
            await fleet.stop()
        }
    }

    @Test(.serialized, arguments: SimDialect.allCases) func serverBusyIsRespectedAndAThrottledTenantDoesNotDelayAnother(dialect: SimDialect) async throws {
        try await FleetFixture.with("busy", dialect: dialect) { f in
            try await f.addAll()
            let fleet = f.startSupervisor()
            try await f.waitUntil("every mailbox streams") { try await f.streamingCount() == f.allMailboxes.count }
            let slow = f.tenants[0], fast = f.tenants[1]
            _ = try f.sim.world.injectFault({ var fault = SimFault(.throttle, scope: .tenant(slow.name)); fault.seconds = 8; return fault }())
            let throttledIDs = try f.sim.world.deliver(mailbox: slow.mailboxes[0], count: 1)
            let otherIDs = try f.sim.world.deliver(mailbox: fast.mailboxes[0], count: 1)
            // Well inside the 8 s throttle even on two busy cores.
            try await f.waitUntil("the other tenant commits while the first is throttled", limit: .seconds(6)) {
                try await f.changeCount(otherIDs) == 1
            }
            #expect(try await f.changeCount(throttledIDs) == 0)
            try await f.waitUntil("the throttled tenant commits after its back-off") { try await f.changeCount(throttledIDs) == 1 }
            let stats = f.sim.world.statsSnapshot()
            #expect(stats.faultEffects["throttle", default: 0] >= 1)
            for tenant in f.tenants {
                #expect(stats.violations("svc:\(tenant.name)") == 0, "requests sent to \(tenant.name) during an advised back-off")
            }
            await fleet.stop()
        }
    }

    @Test(.serialized, arguments: SimDialect.allCases) func aDeadConnectionIsReopened(dialect: SimDialect) async throws {
        try await FleetFixture.with("stall", dialect: dialect) { f in
            try await f.addAll()
            let fleet = f.startSupervisor(idleTimeout: .seconds(3))
            try await f.waitUntil("every mailbox streams") { try await f.streamingCount() == f.allMailboxes.count }
            let opened = f.sim.world.statsSnapshot().streamsOpened
            _ = try f.sim.world.injectFault(SimFault(.stallStreams))
            let ids = try f.sim.world.deliver(mailbox: f.tenants[0].mailboxes[1], count: 1)
            try await f.waitUntil("stalled streams were reopened") { f.sim.world.statsSnapshot().streamsOpened > opened }
            try await f.waitUntil("the mail is committed") { try await f.changeCount(ids) == 1 }
            await fleet.stop()
        }
    }

    @Test(.serialized, arguments: SimDialect.allCases) func aBlockedTenantIsMarkedAndDoesNotDisturbOthers(dialect: SimDialect) async throws {
        try await FleetFixture.with("blocked", dialect: dialect) { f in
            try await f.addAll()
            let fleet = f.startSupervisor()
            try await f.waitUntil("every mailbox streams") { try await f.streamingCount() == f.allMailboxes.count }
            let blocked = f.tenants[0], other = f.tenants[1]
            _ = try f.sim.world.injectFault(SimFault(.blockTenant, scope: .tenant(blocked.name)))
            _ = try f.sim.world.deliver(mailbox: blocked.mailboxes[0], count: 1)  // its sync meets the 403
            try await f.waitUntil("the tenant is marked blocked") {
                try await f.count("SELECT count(*) AS n FROM tenants WHERE name = $1 AND state = 'blocked'",
                                  [PostgresValue(blocked.name)]) == 1
            }
            let reason = try await f.pool.withConnection {
                try await $0.query("SELECT state_reason FROM tenants WHERE name = $1", [PostgresValue(blocked.name)], name: "t")
                    .rows[0].decode("state_reason", as: String?.self)
            }
            #expect(reason?.contains("403") == true)
            let ids = try f.sim.world.deliver(mailbox: other.mailboxes[0], count: 1)
            try await f.waitUntil("the other tenant still commits") { try await f.changeCount(ids) == 1 }
            await fleet.stop()
        }
    }

    @Test(.serialized, arguments: SimDialect.allCases) func missedNotificationEventsAreRepairedByASync(dialect: SimDialect) async throws {
        try await FleetFixture.with("missed", dialect: dialect, { $0.queueLimit = 2 }) { f in
            try await f.addAll()
            let fleet = f.startSupervisor()
            try await f.waitUntil("every mailbox streams") { try await f.streamingCount() == f.allMailboxes.count }
            let tenant = f.tenants[0]
            // Keep the tenant's streams detached (dropped without Closed, reopen refused while
            // throttled) while more events arrive than the subscription's queue holds.
            _ = try f.sim.world.injectFault({ var t = SimFault(.throttle, scope: .tenant(tenant.name)); t.seconds = 3; return t }())
            _ = try f.sim.world.injectFault({ var d = SimFault(.dropStreams, scope: .tenant(tenant.name)); d.withClosed = false; return d }())
            let ids = try f.sim.world.deliver(mailbox: tenant.mailboxes[0], count: 5)
            try await f.waitUntil("the queue overflowed") { f.sim.world.statsSnapshot().queueOverflows >= 1 }
            try await f.waitUntil("every missed mail is committed") { try await f.changeCount(ids) == 5 }
            try await f.waitUntil("converged") { try await f.converged(tenant.mailboxes[0]) }
            #expect(f.sim.world.statsSnapshot().violations("svc:\(tenant.name)") == 0)
            await fleet.stop()
        }
    }

    /// ErrorServerBusy as a response message (HTTP 200, ResponseClass="Error") is advice too: it
    /// holds every call charged to the budget, not only the retry of the call that got it. Without
    /// impersonation that budget is the identity's, so another mailbox's sync must wait as well.
    @Test(.serialized, arguments: [SimFault.Form.message, .fault])
    func anAdvisedBackOffHoldsEveryCallOfTheBudget(form: SimFault.Form) async throws {
        // No grace: the second mailbox's call comes after the advice was written (it needs a
        // delivery, a notification and a sync first), so without the pause it is a violation.
        try await FleetFixture.with("advice_\(form.rawValue)", { $0.adviceGrace = .zero }) { f in
            try await f.addAll(impersonation: false)
            let fleet = f.startSupervisor()
            try await f.waitUntil("every mailbox streams") { try await f.streamingCount() == f.allMailboxes.count }
            let tenant = f.tenants[0]
            var throttle = SimFault(.throttle, scope: .tenant(tenant.name))
            throttle.seconds = 3
            throttle.form = form
            _ = try f.sim.world.injectFault(throttle)
            var ids = try f.sim.world.deliver(mailbox: tenant.mailboxes[0], count: 1)
            try await f.waitUntil("the first sync was advised to back off") {
                (f.sim.world.statsSnapshot().faultEffects["throttle"] ?? 0) >= 1
            }
            // After that advice was written: a call now would be a violation, not in flight.
            ids += try f.sim.world.deliver(mailbox: tenant.mailboxes[1], count: 1)
            try await f.waitUntil("both mails are committed after the back-off") { try await f.changeCount(ids) == 2 }
            let stats = f.sim.world.statsSnapshot()
            #expect(stats.violations("svc:\(tenant.name)") == 0, "\(stats.backoffViolations)")
            await fleet.stop()
        }
    }
}
