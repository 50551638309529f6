import Foundation

/// Who holds a tenant lease: the configured instance id (what operators see in `tenant_leases`,
/// `mailbox_status` and `fleet_instances`) and the process run. Two processes started with the same
/// `instance.id` are two holders: each draws its own `run`, so they never share an epoch and never
/// renew, use or release each other's leases.
public struct LeaseHolder: Sendable, Hashable, CustomStringConvertible {
    public var instanceID: String
    /// Random per process run (see `newRun(instanceID:)`); stored in `tenant_leases.holder_run`.
    public var run: String

    public init(instanceID: String, run: String) {
        self.instanceID = instanceID
        self.run = run
    }

    /// A holder for a new process run: the pid for the operator, 64 random bits so that a pid reused
    /// after a restart (or the same pid in another container) is still another run.
    public static func newRun(instanceID: String) -> LeaseHolder {
        let random = String(UInt64.random(in: .min ... .max), radix: 16)
        return LeaseHolder(instanceID: instanceID, run: "\(ProcessInfo.processInfo.processIdentifier)-\(random)")
    }

    public var description: String { "\(instanceID) (run \(run))" }
}

/// Proof that this process run holds a tenant's lease at one epoch. Every write that depends on the
/// lease (checkpoints, subscription rows, status rows, sync-state resets, folder rows, the tenant
/// row) checks it in its own transaction or statement (see `LeaseFence`), so a holder that stalled
/// while its lease was taken over can never change the new holder's state.
public struct LeaseToken: Sendable, Hashable {
    public var tenantID: Int64
    public var holder: LeaseHolder
    public var epoch: Int64

    public init(tenantID: Int64, holder: LeaseHolder, epoch: Int64) {
        self.tenantID = tenantID
        self.holder = holder
        self.epoch = epoch
    }

    public var instanceID: String { holder.instanceID }
}
