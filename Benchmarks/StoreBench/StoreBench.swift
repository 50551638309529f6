// store-bench: checkpoint throughput and latency against a real PostgreSQL server.
//
//   store-bench --database-url URL [--writers 4] [--seconds 20] [--page 512]
//
// Phase 1 commits checkpoints of `page` changes (items upsert + changes insert + sync-state update,
// one transaction each, lease checked) from `writers` concurrent writers, each its own mailbox, and
// reports changes/s. Phase 2 commits single-change checkpoints from one writer and reports latency
// percentiles. Run it through Benchmarks/store.sh, which starts a server with default durability.
import Foundation
import Logging
import Store
import Support

struct Options: Sendable {
    var url = ProcessInfo.processInfo.environment["EWSFLEET_DATABASE_URL"] ?? ""
    var writers = 4
    var seconds = 20.0
    var page = 512
    var latencySamples = 2000

    init(_ args: [String]) {
        var it = args.dropFirst().makeIterator()
        while let a = it.next() {
            switch a {
            case "--database-url": url = it.next() ?? url
            case "--writers": writers = Int(it.next() ?? "") ?? writers
            case "--seconds": seconds = Double(it.next() ?? "") ?? seconds
            case "--page": page = Int(it.next() ?? "") ?? page
            case "--latency-samples": latencySamples = Int(it.next() ?? "") ?? latencySamples
            default: fatalError("unknown argument \(a)")
            }
        }
    }
}

@main
enum StoreBench {
    static func main() async throws {
        let options = Options(CommandLine.arguments)
        var logger = Logger(label: "store-bench")
        logger.logLevel = .warning
        let pool = PostgresPool(PostgresConfiguration(url: options.url, poolSize: options.writers + 1), logger: logger)
        try await Migrator(pool: pool).migrate()

        let keyring = SecretKeyring(current: SecretKey.generate().key)
        let tenantName = "bench-\(UInt32.random(in: 0...UInt32.max))"
        let tenant = try await TenantRepository(pool: pool).add(
            NewTenant(name: tenantName, ewsURL: "http://127.0.0.1/EWS/Exchange.asmx", authKind: .basic, identity: "svc",
                      allowPlainHTTP: true),
            secret: Secret("pw"), keyring: keyring)
        let lease = try await LeaseRepository(pool: pool).acquire(tenantID: tenant.id, instanceID: "bench", ttl: .seconds(600))!
        var mailboxList: [Mailbox] = []
        for w in 0...options.writers {
            mailboxList.append(try await MailboxRepository(pool: pool).add(tenant: tenantName, smtpAddress: "user\(w)@\(tenantName).example"))
        }

        let mailboxes = mailboxList
        let writer = CheckpointWriter(pool: pool)
        let clock = ContinuousClock()

        // Phase 1: throughput.
        let deadline = clock.now + .milliseconds(Int(options.seconds * 1000))
        let start = clock.now
        let page = options.page
        let total = try await withThrowingTaskGroup(of: Int.self) { group in
            for w in 0..<options.writers {
                let mailbox = mailboxes[w]
                group.addTask {
                    var serial = 0, committed = 0
                    while clock.now < deadline {
                        committed += try await writer.commit(checkpoint(mailbox: mailbox, page: page, serial: &serial, lease: lease, tenantName: tenantName)).changesInserted
                    }
                    return committed
                }
            }
            var sum = 0
            for try await n in group { sum += n }
            return sum
        }
        let elapsed = clock.now - start
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        print(String(format: "throughput: %d changes in %.1f s = %.0f changes/s (%d writers, %d-row checkpoints)",
                     total, seconds, Double(total) / seconds, options.writers, options.page))

        // Phase 2: single-row checkpoint latency.
        var samples: [Double] = []
        var serial = 0
        for _ in 0..<options.latencySamples {
            let cp = checkpoint(mailbox: mailboxes[options.writers], page: 1, serial: &serial, lease: lease, tenantName: tenantName)
            let t0 = clock.now
            try await writer.commit(cp)
            let d = clock.now - t0
            samples.append(Double(d.components.seconds) * 1000 + Double(d.components.attoseconds) / 1e15)
        }
        let sorted = samples.sorted()
        let p50 = sorted[min(sorted.count - 1, sorted.count / 2)]
        let p99 = sorted[min(sorted.count - 1, sorted.count * 99 / 100)]
        print(String(format: "single-row checkpoint latency: p50 %.2f ms, p99 %.2f ms (%d samples)", p50, p99, sorted.count))
        await pool.shutdown()
    }

    static func checkpoint(mailbox: Mailbox, page: Int, serial: inout Int, lease: LeaseToken, tenantName: String) -> Checkpoint {
        var cp = Checkpoint(lease: lease, tenant: tenantName, mailboxID: mailbox.id, mailbox: mailbox.smtpAddress,
                            folderID: "inbox", syncState: String(repeating: "H4sIAAAAAAAEAO29B2AcSZ", count: 40) + "\(serial)",
                            syncStep: SyncStep.incremental(from: "\(mailbox.id)-\(serial)"), observedAt: Date())
        for _ in 0..<page {
            serial += 1
            let id = "AAMkAGI2TG93AAA=\(mailbox.id)-\(serial)"
            let props = #"{"subject":"Quarterly report \#(serial)","sender":"boss@example.com","size":48213,"has_attachments":false}"#
            cp.upserts.append(MirrorItem(folderID: "inbox", itemID: id, changeKey: "CQAAABYAAAA\(serial)", isRead: false,
                                         subject: "Quarterly report \(serial)", sender: "boss@example.com",
                                         receivedAt: Date(), size: 48213, hasAttachments: false))
            cp.changes.append(ChangeRecord(folderID: "inbox", itemID: id, changeKey: "CQAAABYAAAA\(serial)", kind: .created,
                                           isRead: false, properties: Data(props.utf8)))
        }
        return cp
    }
}
