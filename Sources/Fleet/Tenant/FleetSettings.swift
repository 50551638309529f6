public import EWS

/// Settings every tenant runtime shares (from the service configuration).
public struct FleetSettings: Sendable {
    public var instanceID: String
    public var coalescingWindow: Duration = .seconds(2)
    public var safetySyncInterval: Duration = .seconds(900)
    /// How often a mailbox that found no streaming connection (hanging-connection limit) is synced.
    public var pollInterval: Duration = .seconds(60)
    public var backoffInitial: Duration = .seconds(1)
    public var backoffMax: Duration = .seconds(300)
    /// No byte for this long means a streaming connection is dead (fact sheet §3.7: 90 s).
    public var streamIdleTimeout: Duration = .seconds(90)
    public var connectionTimeoutMinutes = 30
    public var statusFlushInterval: Duration = .seconds(1)
    public var leaseTTL: Duration = .seconds(30)
    public var serverVersion: EWSServerVersion = .exchange2013SP1
    /// A streaming connection that lived this long and brought a message is healthy; one the server
    /// ends sooner is a failure, whatever the ending looked like.
    public var streamHealthyAfter: Duration = .seconds(30)
    /// First delay after a failed streaming connection (then doubling, up to `backoffMax`).
    public var streamBackoffInitial: Duration = .seconds(2)
    /// Joins are applied to a connection this long after the last one, at most `joinMaxDelay`
    /// after the first.
    public var joinQuiet: Duration = .seconds(1)
    public var joinMaxDelay: Duration = .seconds(10)
    /// The longest a tenant's groups wait at start for its mailboxes to subscribe (the gate also
    /// opens as soon as all have joined or failed).
    public var startupGateMax: Duration = .seconds(120)
    /// Consecutive resubscribes without a healthy stream before a mailbox is `failed`.
    public var maxResubscribes = 3
    /// A DeletedEvent takes its item out of the mirror at once, before the folder's sync, where
    /// that is safe (`MailboxMachine+Departures`).
    public var deleteOnNotification = true

    public init(instanceID: String) { self.instanceID = instanceID }
}

extension FleetSettings {
    func streamGroupConfig<Instant>(_: Instant.Type = Instant.self) -> StreamGroupMachine<Instant>.Config {
        var config = StreamGroupMachine<Instant>.Config()
        config.healthyAfter = streamHealthyAfter
        config.joinQuiet = joinQuiet
        config.joinMaxDelay = joinMaxDelay
        config.pacer = RetryPacer.Policy(initial: streamBackoffInitial, maximum: backoffMax)
        return config
    }
}
