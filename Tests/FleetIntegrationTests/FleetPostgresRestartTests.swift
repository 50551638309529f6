import Foundation
import Simulator
import Store
import TestSupport
import Testing

/// Restarts the PostgreSQL server under a running fleet: scripts/test runs this alone, serialized.
@Suite(.serialized, .requiresRestartableDatabase) struct FleetPostgresRestartTests {
    @Test(.serialized, arguments: SimDialect.allCases) func aDatabaseRestartMidRunLosesNothing(dialect: SimDialect) async throws {
        try await FleetFixture.with("pgrestart", dialect: dialect) { f in
            try await f.addAll()
            let fleet = f.startSupervisor(coalescing: .milliseconds(100))
            try await f.waitUntil("every mailbox streams") { try await f.streamingCount() == f.allMailboxes.count }
            f.sim.traffic.set(rate: 30)
            try await f.waitUntil("traffic started") { f.sim.traffic.actions >= 30 }
            try await TestDatabase.restartServer()
            try await f.waitUntil("more traffic after the restart") { f.sim.traffic.actions >= 120 }
            f.sim.traffic.stop()
            try await f.waitUntil("the mirror converged after the restart", limit: .seconds(120)) { try await f.allConverged() }
            let verdict = try await f.outboxVerdict()
            #expect(verdict.isClean, "\(verdict)")
            await fleet.stop()
        }
    }
}
