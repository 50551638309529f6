/// The world's fault and throttling bookkeeping (guarded by `SimWorld.lock`).
struct FaultBook {
    struct Active {
        var id: Int
        var fault: SimFault
        var injectedAt: Duration
        /// hold_sync_page: SyncFolderItems pages of matching mailboxes seen since injection.
        var syncPagesSeen = 0
    }

    var active: [Int: Active] = [:]
    var nextId = 1
    /// Mailboxes (SMTP) whose next SyncFolderItems with a state fails.
    var invalidSyncStates: Set<String> = []
    /// Subscriptions removed by a fault → the code GetStreamingEvents answers for them.
    var vanished: [Subscription.Key: String] = [:]
    var held: [Int: Held] = [:]
    var nextHeldId = 1
    var heldWaiters: [(count: Int, continuation: CheckedContinuation<Void, Never>)] = []
    var injected: [String: Int] = [:]
    var effects: [String: Int] = [:]

    struct Held {
        var info: SimHeldRequest
        var continuation: CheckedContinuation<Void, Never>?
        var released = false
    }

    var effectWaiters: [(kind: String, count: Int, continuation: CheckedContinuation<Void, Never>)] = []

    mutating func effect(_ kind: SimFault.Kind, _ count: Int = 1) {
        effects[kind.rawValue, default: 0] += count
        let total = effects[kind.rawValue]!
        let ready = effectWaiters.filter { $0.kind == kind.rawValue && $0.count <= total }
        effectWaiters.removeAll { $0.kind == kind.rawValue && $0.count <= total }
        ready.forEach { $0.continuation.resume() }
    }
}

/// A response that a `hold_sync_page` fault is holding back.
public struct SimHeldRequest: Sendable, Equatable {
    public var id: Int
    public var faultId: Int
    public var operation: String
    public var mailbox: String
    public var identity: String
    /// Which SyncFolderItems page (since injection) this is.
    public var page: Int
}

/// Per-identity and per-mailbox throttling state (guarded by `SimWorld.lock`).
struct ThrottleBook {
    /// One advised back-off (see `SimWorld+Advice.swift`).
    struct Backoff {
        var until: Duration
        /// How long it was advised for, so a violation can extend it by the same again.
        var length: Duration
        /// Tells it from a later back-off on the same budget: a late write of an old advice must
        /// not count as delivering a new one.
        var id: Int
        /// When a response advising it was first completely written (injected clock); nil while
        /// no client could have read it yet.
        var writtenAt: Duration?
    }

    var inFlight: [String: Int] = [:]
    var syncInFlight: [String: Int] = [:]
    /// Back-off advised to a budget (the identity's key, `impersonated:<smtp>`) or to an identity
    /// for one mailbox (`key|smtp`).
    var backoff: [String: Backoff] = [:]
    var nextBackoffId = 1
    /// Per identity key: requests that came inside a back-off the client had been told of.
    var violations: [String: Int] = [:]
    /// Per identity key: requests inside a back-off that were already on their way when the advice
    /// was written (or within the grace after it): answered busy, but no fault of the client.
    var inFlightAtAdvice: [String: Int] = [:]
    /// Back-offs whose advice has been completely written, and who waits for that (tests).
    var advicesWritten = 0
    var adviceWaiters: [(count: Int, continuation: CheckedContinuation<Void, Never>)] = []
    var budget: [String: (tokens: Double, at: Duration)] = [:]
    /// Throttling answers by policy (MaxConcurrency, HangingConnectionLimit, …).
    var throttled: [String: Int] = [:]
}
