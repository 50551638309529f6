extension EWSBudget: CustomStringConvertible {
    public var description: String {
        switch self {
        case .mailboxSync: "mailboxSync"
        case .concurrency: "concurrency"
        case .streamingConnections: "streamingConnections"
        case .subscriptions: "subscriptions"
        case .server: "server"
        case .policy(let name): "policy:\(name)"
        }
    }
}

extension EWSRetryHint: CustomStringConvertible {
    public var description: String {
        var parts = ["budget=\(budget)"]
        if let backOffMilliseconds { parts.insert("backoff=\(backOffMilliseconds)ms", at: 0) }
        return parts.joined(separator: " ")
    }
}

/// Compact, log- and operator-friendly form, e.g. `retryLater(backoff=5000ms budget=mailboxSync)`.
extension EWSAction: CustomStringConvertible {
    public var description: String {
        switch self {
        case .proceed: "proceed"
        case .retryLater(let hint): "retryLater(\(hint))"
        case .reduceConcurrency(let hint): "reduceConcurrency(\(hint))"
        case .resubscribe(let rediscover): rediscover ? "resubscribe(rediscover)" : "resubscribe"
        case .resyncFolder: "resyncFolder"
        case .fullResync: "fullResync"
        case .refreshFolderHierarchy: "refreshFolderHierarchy"
        case .skipItem: "skipItem"
        case .dropSubscription: "dropSubscription"
        case .ignore: "ignore"
        case .refreshCredentialsOnce: "refreshCredentialsOnce"
        case .retryBounded(let attempts, let fallback): "retryBounded(max=\(attempts) then=\(fallback.rawValue))"
        case .giveUp: "giveUp"
        }
    }
}
