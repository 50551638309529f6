import Foundation
import Store
import TestSupport
import Support

/// A migrated database with one tenant and mailbox, for repository tests.
struct StoreFixture {
    let database: TestDatabase
    let pool: PostgresPool
    let keyring = SecretKeyring(current: SecretKey.generate().key)
    var tenant: Tenant!
    var mailbox: Mailbox!

    static func with<T: Sendable>(_ label: String, _ body: (StoreFixture) async throws -> T) async throws -> T {
        try await TestDatabase.withFresh(label) { database in
            var fixture = StoreFixture(database: database, pool: database.pool())
            do {
                try await Migrator(pool: fixture.pool).migrate()
                fixture.tenant = try await TenantRepository(pool: fixture.pool).add(
                    NewTenant(name: "contoso", ewsURL: "https://ews.contoso.example/EWS/Exchange.asmx",
                              authKind: .basic, identity: "svc-ewsfleet"),
                    secret: Secret("hunter2"), keyring: fixture.keyring)
                fixture.mailbox = try await MailboxRepository(pool: fixture.pool).add(
                    tenant: "contoso", smtpAddress: "Alice@Contoso.Example")
                let result = try await body(fixture)
                await fixture.pool.shutdown()
                return result
            } catch {
                await fixture.pool.shutdown()
                throw error
            }
        }
    }

    /// A page that leads to `state`; its sync step is named after that state unless `step` says otherwise.
    func checkpoint(_ folder: String = "inbox", state: String, step: String? = nil, lease: LeaseToken? = nil) -> Checkpoint {
        Checkpoint(lease: lease, tenant: tenant.name, mailboxID: mailbox.id, mailbox: mailbox.smtpAddress,
                   folderID: folder, syncState: state, syncStep: step ?? "to:\(state)",
                   observedAt: Date(timeIntervalSince1970: 1_790_000_000))
    }

    func scalar<T: PostgresDecodable & Sendable>(_ sql: String, _ params: [PostgresValue] = [], as: T.Type = T.self) async throws -> T {
        try await pool.withConnection { conn in
            try await conn.query(sql, params, name: "test.scalar").rows[0].decode("v", as: T.self)
        }
    }
}

func created(_ id: String, key: String = "ck1", subject: String = "hello") -> (MirrorItem, ChangeRecord) {
    let item = MirrorItem(folderID: "inbox", itemID: id, changeKey: key, isRead: false, subject: subject,
                          sender: "bob@example.com", receivedAt: Date(timeIntervalSince1970: 1_789_000_000),
                          size: 1234, hasAttachments: true)
    let props = try! JSONSerialization.data(withJSONObject: ["subject": subject])
    return (item, ChangeRecord(folderID: "inbox", itemID: id, changeKey: key, kind: .created, isRead: false, properties: props))
}
