/// Which throttling budget a retry hint is about (fact sheet §8.1), so the Fleet can slow down
/// the right thing: one mailbox's sync calls, the account's concurrency, ...
public enum EWSBudget: Hashable, Sendable, Codable {
    /// `ConcurrentSyncCalls`: SyncFolderItems/Hierarchy in flight, per mailbox.
    case mailboxSync
    /// `MaxConcurrency` (EWSMaxConcurrency): concurrent non-streaming requests of the account /
    /// impersonated mailbox budget.
    case concurrency
    /// Streaming (hanging) connections per account or impersonated mailbox.
    case streamingConnections
    /// `EWSMaxSubscriptions`: live subscriptions charged to the target mailbox.
    case subscriptions
    /// The server as a whole (503, ErrorServerBusy without a named policy).
    case server
    /// A policy part this table does not know, by name.
    case policy(String)

    /// Maps a policy part name from MessageXml `Policy` or the message text.
    public init(policy: String?, default fallback: EWSBudget) {
        switch policy {
        case nil, "": self = fallback
        case "ConcurrentSyncCalls": self = .mailboxSync
        case "MaxConcurrency", "Concurrency": self = .concurrency
        case "MaxStreamingConcurrency", "HangingConnectionLimit", "StreamingConcurrency": self = .streamingConnections
        case "MaxSubscriptions", "EWSMaxSubscriptions", "Subscriptions": self = .subscriptions
        case let name?: self = .policy(name)
        }
    }
}

/// How long to wait and which budget to relieve before retrying.
public struct EWSRetryHint: Hashable, Sendable, Codable {
    /// The server's hint (BackOffMilliseconds, "Suggested backoff time", Retry-After); nil means
    /// "use exponential backoff with jitter" (start ~30–60 s for throttling).
    public var backOffMilliseconds: Int?
    public var budget: EWSBudget
    /// The raw policy part name when the server named one.
    public var policy: String?

    public init(backOffMilliseconds: Int? = nil, budget: EWSBudget, policy: String? = nil) {
        self.backOffMilliseconds = backOffMilliseconds
        self.budget = budget
        self.policy = policy
    }
}

/// What a caller should do about an EWS outcome. Exactly one per code/condition, from
/// ``EWSActionTable``.
public enum EWSAction: Hashable, Sendable {
    /// Success: carry on.
    case proceed
    /// Throttled: wait (hint or exponential backoff) before retrying; don't hammer.
    case retryLater(EWSRetryHint)
    /// Too many concurrent connections/requests: retry with fewer in flight (regroup streams,
    /// spread across accounts/impersonated mailboxes).
    case reduceConcurrency(EWSRetryHint)
    /// The subscription is gone: Subscribe again (no watermark), then catch-up SyncFolderItems from
    /// the stored SyncState. `rediscover`: re-run Autodiscover and regroup first (affinity broke).
    case resubscribe(rediscover: Bool)
    /// Events were lost but the subscription lives: SyncFolderItems from the kept SyncState.
    case resyncFolder
    /// The SyncState is unusable: drop it, sync from scratch, dedupe against the store.
    case fullResync
    /// The folder vanished: SyncFolderHierarchy, stop syncing it, resubscribe without it.
    case refreshFolderHierarchy
    /// This item is gone (deleted/moved since the event); a later sync reconciles.
    case skipItem
    /// The subscription was deleted (Unsubscribe); forget it, resubscribe only if still wanted.
    case dropSubscription
    /// Another connection owns this subscription id now; do not reconnect it here.
    case ignore
    /// Credentials were refused: refresh the token once and retry; if that fails, give up.
    case refreshCredentialsOnce
    /// Transient failure: retry with bounded exponential backoff, then fall back.
    case retryBounded(maxAttempts: Int, then: Fallback)
    /// Permanent for this mailbox/request (permissions, configuration, request bug): alert.
    case giveUp

    /// What ``retryBounded(maxAttempts:then:)`` does once attempts are exhausted.
    public enum Fallback: String, Hashable, Sendable, Codable {
        case giveUp, resubscribe
    }
}

/// The table's answer: the action, the code it was chosen for, and whether that code was known.
public struct EWSActionDecision: Hashable, Sendable {
    public var action: EWSAction
    /// The ResponseCode or HTTP condition (e.g. "ErrorServerBusy", "HTTP 401").
    public var code: String
    /// True when the code is not in the table: the safe default was used; report it.
    public var isUnknown: Bool

    public init(action: EWSAction, code: String, isUnknown: Bool = false) {
        self.action = action
        self.code = code
        self.isUnknown = isUnknown
    }
}
