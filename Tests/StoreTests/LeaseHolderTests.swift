import Foundation
import Testing
@testable import Store

/// A lease belongs to one process run: two runs with the same `instance.id` (the example
/// configuration's fixed id started twice, or a pid reused after a restart) are two holders.
@Suite struct LeaseHolderTests {
    @Test func everyRunIsItsOwnHolderEvenWithTheSameInstanceIDAndPid() {
        let runs = (0..<100).map { _ in LeaseHolder.newRun(instanceID: "ewsfleet-1") }
        #expect(Set(runs).count == 100, "two runs shared a holder")
        #expect(Set(runs.map(\.run)).count == 100)
        for run in runs {
            #expect(run.instanceID == "ewsfleet-1")
            // The pid comes first, for the operator reading tenant_leases.holder_run.
            #expect(run.run.hasPrefix("\(ProcessInfo.processInfo.processIdentifier)-"))
        }
    }
}
