import Foundation

/// Judges a client's outbox (its `changes` rows) against the simulator's ground truth and ledger,
/// which the client never writes. For one mailbox and its watched folders:
///
/// (a) every item in a folder now has exactly one `created` row after its last `deleted` row (or
///     none deleted), and its last row's `is_read` equals the truth;
/// (b) every item that left a watched folder (the ledger's deletes and moves out, and any item the
///     outbox created that the folder no longer holds) has a `deleted` row after its last `created`;
/// (c) no `created` row of an item appears twice without a `deleted` between.
///
/// Items created and gone again between two syncs legitimately never appear (SyncFolderItems
/// reports net changes): an item that left with no row at all is exempt. So is an item of a
/// *baseline* (what a folder held when a client started it "now", mirrored without a `created`
/// row) that has no `created` row and no `deleted` row: its other rows, if any, must still end
/// in the true read state. Items on the client's ignore list are exempt from (a) and (b): their
/// changes are not recorded, by design. A ledger that dropped entries cannot vouch for anything,
/// so it fails the verdict.
public enum OutboxOracle {
    /// One outbox row, in commit order. `folder` is the folder's name in the simulator ("inbox").
    public struct Row: Sendable, Equatable {
        public var folder: String
        public var itemID: String
        public var kind: String
        public var isRead: Bool?

        public init(folder: String, itemID: String, kind: String, isRead: Bool?) {
            self.folder = folder
            self.itemID = itemID
            self.kind = kind
            self.isRead = isRead
        }
    }

    public struct Verdict: Sendable, Equatable, CustomStringConvertible {
        /// Items in the truth with no `created` row after their last delete.
        public var lost: [String] = []
        /// Items with two `created` rows and no `deleted` between, or two after their last delete.
        public var duplicated: [String] = []
        /// Items whose last row's `is_read` is not the truth's.
        public var wrongReadState: [String] = []
        /// Items that left a watched folder after a `created` row and have no `deleted` row after it.
        public var missingDeletes: [String] = []
        /// Items that left a watched folder without ever appearing (net change): allowed, counted.
        public var exempt = 0
        /// Ledger entries the simulator dropped (raise `--ledger-limit`): the verdict cannot hold.
        public var ledgerDropped = 0

        public init(ledgerDropped: Int = 0) { self.ledgerDropped = ledgerDropped }

        public var isClean: Bool {
            lost.isEmpty && duplicated.isEmpty && wrongReadState.isEmpty && missingDeletes.isEmpty && ledgerDropped == 0
        }

        public mutating func merge(_ other: Verdict) {
            lost += other.lost
            duplicated += other.duplicated
            wrongReadState += other.wrongReadState
            missingDeletes += other.missingDeletes
            exempt += other.exempt
            ledgerDropped += other.ledgerDropped
        }

        public var description: String {
            func some(_ ids: [String]) -> String { ids.count <= 5 ? "\(ids)" : "\(Array(ids.prefix(5))) and \(ids.count - 5) more" }
            return "lost \(lost.count) \(some(lost)), duplicated \(duplicated.count) \(some(duplicated)), "
                + "wrong read state \(wrongReadState.count) \(some(wrongReadState)), "
                + "missing deletes \(missingDeletes.count) \(some(missingDeletes)), exempt \(exempt), "
                + "ledger entries dropped \(ledgerDropped)"
        }
    }

    /// - Parameters:
    ///   - truth: the items each watched folder holds now, by folder name.
    ///   - ledger: the mailbox's ledger, oldest first; `ledgerDropped` how many entries it lost.
    ///   - rows: the mailbox's outbox rows in commit order (rows of unwatched folders are ignored).
    ///   - baseline: item ids the client mirrored without a `created` row (see above).
    ///   - ignored: item ids on the client's ignore list (see above).
    public static func check(truth: [String: [SimWorld.ItemSnapshot]], ledger: [LedgerEntry], ledgerDropped: Int,
                             rows: [Row], baseline: Set<String> = [], ignored: Set<String> = []) -> Verdict {
        var verdict = Verdict(ledgerDropped: ledgerDropped)
        let watched = Set(truth.keys)
        struct Key: Hashable { var folder: String, item: String }
        var history: [Key: [Row]] = [:]
        var order: [Key] = []
        for row in rows where watched.contains(row.folder) {
            let key = Key(folder: row.folder, item: row.itemID)
            if history[key] == nil { order.append(key) }
            history[key, default: []].append(row)
        }
        // (c), over every item the outbox knows.
        for key in order where hasCreatedTwice(history[key]!) { verdict.duplicated.append(key.item) }
        // (a)
        var present: Set<Key> = []
        for (folder, items) in truth.sorted(by: { $0.key < $1.key }) {
            for item in items {
                let key = Key(folder: folder, item: item.itemId)
                present.insert(key)
                if ignored.contains(item.itemId) {
                    verdict.exempt += 1
                    continue
                }
                let rows = history[key] ?? []
                let sinceDelete = rows.suffix(from: (rows.lastIndex { $0.kind == "deleted" }).map { $0 + 1 } ?? 0)
                // More than one is a duplicate, which (c) has counted.
                guard sinceDelete.contains(where: { $0.kind == "created" }) else {
                    if baseline.contains(item.itemId), !rows.contains(where: { $0.kind == "deleted" }) {
                        verdict.exempt += 1
                        if let last = rows.last, last.isRead != item.isRead { verdict.wrongReadState.append(item.itemId) }
                    } else {
                        verdict.lost.append(item.itemId)
                    }
                    continue
                }
                if rows.last?.isRead != item.isRead { verdict.wrongReadState.append(item.itemId) }
            }
        }
        // (b): what left, from the ledger (locations replayed from creates and moves) and from the
        // outbox itself (anything it holds that the folder no longer does).
        var location: [String: String] = [:]
        var left: [Key] = []
        for entry in ledger {
            guard let id = entry.itemId else { continue }
            switch entry.kind {
            case "created":
                location[id] = entry.folder
            case "moved":
                if let old = entry.oldItemId, let from = location.removeValue(forKey: old) {
                    left.append(Key(folder: from, item: old))
                }
                location[id] = entry.folder
            case "deleted":
                left.append(Key(folder: entry.folder, item: id))
                location[id] = nil
            default:
                break
            }
        }
        left += order.filter { !present.contains($0) }
        var judged: Set<Key> = []
        for key in left where watched.contains(key.folder) && !present.contains(key) && !ignored.contains(key.item)
            && judged.insert(key).inserted {
            guard let rows = history[key], let lastCreated = rows.lastIndex(where: { $0.kind == "created" }) else {
                verdict.exempt += 1
                continue
            }
            if !rows[(lastCreated + 1)...].contains(where: { $0.kind == "deleted" }) { verdict.missingDeletes.append(key.item) }
        }
        return verdict
    }

    static func hasCreatedTwice(_ rows: [Row]) -> Bool {
        var open = false
        for row in rows {
            if row.kind == "created" {
                if open { return true }
                open = true
            } else if row.kind == "deleted" {
                open = false
            }
        }
        return false
    }
}

extension LedgerEntry {
    /// Reads an entry as the control API's `/_sim/ledger?mailbox={m}` writes it, for clients that
    /// run ews-sim as a process (the outbox oracle of a test or benchmark).
    public init?(controlJSON object: [String: Any]) {
        guard let kind = object["kind"] as? String, let folder = object["folder"] as? String,
              let timestamp = object["timestamp"] as? Double else { return nil }
        self.init(sequence: (object["sequence"] as? NSNumber)?.uint64Value ?? 0,
                  time: Date(timeIntervalSince1970: timestamp), kind: kind, itemId: object["item_id"] as? String,
                  oldItemId: object["old_item_id"] as? String, folder: folder,
                  changeKey: object["change_key"] as? String, isRead: object["is_read"] as? Bool)
    }
}
