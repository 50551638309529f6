import Support
/// What a change to a tenant row means for a tenant that runs, and for the state it learnt from its
/// server: the one reload path of a running tenant (see `Supervisor`) and `tenant update` both read
/// it from here, so they agree.
///
/// Every setting below reaches a running tenant by restarting its runtime under the same lease, with
/// a client built from the new row. What the old settings learnt is kept unless it may belong to
/// another account or another server:
/// - subscriptions are owned by the account that made them, on the server that holds them, so a new
///   URL, auth kind, identity or impersonation setting forgets them (every mailbox subscribes again);
/// - SyncStates and EWS folder ids are the server's own, so a new URL forgets them too: each folder
///   syncs again from scratch, diffed against the mirror, which emits only what really differs. A
///   server that cannot read a stale SyncState would say so, but one that misreads it would not.
/// Secret, throttling, TLS, Autodiscover, sync mode, poll interval, property profile and calendar window changes keep both: the next
/// runtime starts warm (a mailbox that turns sync-only forgets its subscription as it starts; one that
/// turns to notifications subscribes and syncs from its stored SyncStates).
public struct TenantReload: Sendable, Equatable, CustomStringConvertible {
    public enum Setting: String, Sendable, CaseIterable, Comparable {
        case ewsURL = "ews_url", autodiscoverURL = "autodiscover_url", authKind = "auth_kind", identity
        case tokenURL = "token_url", scope, secret, impersonation, throttling, caBundle = "ca_bundle"
        case insecureTLS = "insecure_tls", allowPlainHTTP = "allow_plain_http"
        case syncMode = "sync_mode", pollInterval = "poll_interval_seconds", itemProperties = "item_properties"
        case calendarWindow = "calendar_window"

        public static func < (a: Setting, b: Setting) -> Bool { a.rawValue < b.rawValue }
    }

    /// The settings that differ, sorted (names only: never a value, so it can be logged).
    public var changed: [Setting]

    /// Whether the tenant's persisted subscriptions must be forgotten.
    public var forgetsSubscriptions: Bool {
        changed.contains { [.ewsURL, .authKind, .identity, .impersonation].contains($0) }
    }

    /// Whether its SyncStates and EWS folder ids must be forgotten too.
    public var forgetsSyncStates: Bool { changed.contains(.ewsURL) }

    public var description: String { changed.map(\.rawValue).joined(separator: ",") }

    /// nil when nothing that a running tenant uses changed (state, grouping and timestamps are
    /// handled elsewhere). `sameSecret` decides whether two sealed secrets hold the same secret: a
    /// secret sealed again under a new key is not a change worth a restart.
    public init?(from old: Tenant, to new: Tenant,
                 sameSecret: (SecretKeyring.Sealed?, SecretKeyring.Sealed?) -> Bool = { $0 == $1 }) {
        var changed: [Setting] = []
        func note(_ setting: Setting, _ differs: Bool) { if differs { changed.append(setting) } }
        note(.ewsURL, old.ewsURL != new.ewsURL)
        note(.autodiscoverURL, old.autodiscoverURL != new.autodiscoverURL)
        note(.authKind, old.authKind != new.authKind)
        note(.identity, old.identity != new.identity)
        note(.tokenURL, old.tokenURL != new.tokenURL)
        note(.scope, old.scope != new.scope)
        note(.secret, !sameSecret(old.sealedSecret, new.sealedSecret))
        note(.impersonation, old.impersonation != new.impersonation)
        note(.throttling, old.throttling != new.throttling)
        note(.caBundle, old.caBundle != new.caBundle)
        note(.insecureTLS, old.insecureTLS != new.insecureTLS)
        note(.allowPlainHTTP, old.allowPlainHTTP != new.allowPlainHTTP)
        note(.syncMode, old.syncMode != new.syncMode)
        note(.pollInterval, old.pollIntervalSeconds != new.pollIntervalSeconds)
        note(.itemProperties, old.itemProperties != new.itemProperties)
        note(.calendarWindow, old.calendarWindow != new.calendarWindow)
        guard !changed.isEmpty else { return nil }
        self.changed = changed.sorted()
    }
}

extension SecretKeyring {
    /// Whether two sealed secrets of `tenant` hold the same secret. One that cannot be opened (a
    /// key no longer configured) counts as different: the restart that follows reports it.
    public func sameSecret(_ a: Sealed?, _ b: Sealed?, tenant: String) -> Bool {
        if a == b { return true }
        guard let a, let b, let x = try? open(a, tenant: tenant), let y = try? open(b, tenant: tenant) else { return false }
        return x == y
    }
}
