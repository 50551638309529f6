import Foundation
import Testing
@testable import Fleet
@testable import Store

/// What a new mailbox list from the database asks of the actors a tenant runs.
@Suite struct MailboxRosterTests {
    static let tenant = Tenant(
        id: 1, settings: NewTenant(name: "t", ewsURL: "https://ews.t.example/EWS/Exchange.asmx", authKind: .basic,
                                   identity: "svc"),
        createdAt: Date(timeIntervalSince1970: 0), updatedAt: Date(timeIntervalSince1970: 0))

    static func mailbox(_ id: Int64, enabled: Bool = true, watch: WatchMode = .folders(["inbox"])) -> Mailbox {
        Mailbox(id: id, tenantID: 1, tenantName: "t", smtpAddress: "m\(id)@t.example", watch: watch, enabled: enabled)
    }

    @Test func launchesPausesResumesResyncsRestartsAndRetires() {
        var roster = MailboxRoster(tenant: Self.tenant)
        let a = Self.mailbox(1), b = Self.mailbox(2), c = Self.mailbox(3, enabled: false)
        #expect(roster.reconcile([a, b, c]) == [.launch(a, withPersistedSubscription: true),
                                                .launch(b, withPersistedSubscription: true),
                                                .launch(c, withPersistedSubscription: true)])
        #expect(roster.reconcile([a, b, c]).isEmpty, "nothing changed: nothing to do")

        var pausedA = a
        pausedA.enabled = false
        var resumedC = c
        resumedC.enabled = true
        var resyncB = b
        resyncB.resyncRequestedAt = Date(timeIntervalSince1970: 100)
        #expect(roster.reconcile([pausedA, resyncB, resumedC]) == [.pause(1), .resync(2), .resume(3)])

        // What it watches changed: a new actor, which must not reuse the old subscription.
        var allFolders = resyncB
        allFolders.watch = .allFolders
        #expect(roster.reconcile([pausedA, allFolders, resumedC])
            == [.retire(2), .launch(allFolders, withPersistedSubscription: false)])
        // Removed from the database: retired; the roster forgets it (added again: launched again).
        #expect(roster.reconcile([allFolders, resumedC]) == [.retire(1)])
        #expect(roster.mailboxes.keys.sorted() == [2, 3])
        #expect(roster.reconcile([pausedA, allFolders, resumedC]) == [.launch(pausedA, withPersistedSubscription: true)])
    }

    @Test func aChangedSyncOnlyIntervalRestartsButANotifyMailboxIgnoresIt() {
        var roster = MailboxRoster(tenant: Self.tenant)
        var syncOnly = Self.mailbox(1)
        syncOnly.syncMode = .syncOnly
        var notify = Self.mailbox(2)
        _ = roster.reconcile([syncOnly, notify])
        syncOnly.pollIntervalSeconds = 300
        notify.pollIntervalSeconds = 300
        #expect(roster.reconcile([syncOnly, notify]) == [.retire(1), .launch(syncOnly, withPersistedSubscription: false)])
    }
}
