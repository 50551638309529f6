import Foundation
import Testing
@testable import Simulator

/// The oracle must be able to fail: each rule is broken once on purpose.
@Suite struct OutboxOracleTests {
    typealias Row = OutboxOracle.Row

    static func item(_ id: String, read: Bool = false) -> SimWorld.ItemSnapshot {
        SimWorld.ItemSnapshot(itemId: id, changeKey: "ck-\(id)", isRead: read, subject: "s")
    }

    static func entry(_ kind: String, _ id: String, folder: String = "inbox", old: String? = nil) -> LedgerEntry {
        LedgerEntry(sequence: 0, time: Date(timeIntervalSince1970: 0), kind: kind, itemId: id, oldItemId: old,
                    folder: folder, changeKey: nil, isRead: nil)
    }

    static func row(_ kind: String, _ id: String, read: Bool? = false, folder: String = "inbox") -> Row {
        Row(folder: folder, itemID: id, kind: kind, isRead: kind == "deleted" ? nil : read)
    }

    /// A history that obeys every rule: A is present and was read; B was delivered and deleted;
    /// C was delivered and moved out (new id C2 in an unwatched folder); D came and went unseen.
    static let ledger = [entry("created", "A"), entry("read", "A"), entry("created", "B"), entry("deleted", "B"),
                         entry("created", "C"), entry("moved", "C2", folder: "archive", old: "C"),
                         entry("created", "D"), entry("deleted", "D")]
    static let rows = [row("created", "A"), row("read_flag", "A", read: true), row("created", "B"), row("deleted", "B"),
                       row("created", "C"), row("deleted", "C"), row("created", "C2", folder: "archive")]

    @Test func aCorrectOutboxPasses() {
        let verdict = OutboxOracle.check(truth: ["inbox": [Self.item("A", read: true)]], ledger: Self.ledger,
                                         ledgerDropped: 0, rows: Self.rows)
        #expect(verdict.isClean, "\(verdict)")
        #expect(verdict.exempt == 1)  // D
    }

    /// A baseline's items need no `created` row, but only while nothing deleted them, and their
    /// last row (a read change) must still be true; an item outside the baseline is still lost.
    @Test func aBaselineItemNeedsNoCreateButItsRowsMustBeTrue() {
        let truth = ["inbox": [Self.item("A", read: true), Self.item("P"), Self.item("Q", read: true), Self.item("R"), Self.item("S")]]
        let rows = Self.rows + [Self.row("read_flag", "Q", read: false), Self.row("deleted", "R")]
        let verdict = OutboxOracle.check(truth: truth, ledger: Self.ledger, ledgerDropped: 0, rows: rows, baseline: ["P", "Q", "R"])
        #expect(verdict.lost == ["R", "S"], "R was deleted and never created again; S is no baseline item")
        #expect(verdict.wrongReadState == ["Q"])
        #expect(verdict.exempt == 3)  // D, P, Q
    }

    /// An ignored item's changes are not recorded by design: neither a missing row nor a stale read
    /// state counts against the client, but a duplicate still does.
    @Test func anIgnoredItemIsExemptButNotFromDuplicates() {
        let truth = ["inbox": [Self.item("A", read: true), Self.item("I", read: true)]]
        let rows = Self.rows + [Self.row("created", "I"), Self.row("created", "I")]
        let verdict = OutboxOracle.check(truth: truth, ledger: Self.ledger + [Self.entry("created", "I"), Self.entry("read", "I")],
                                         ledgerDropped: 0, rows: rows, ignored: ["I"])
        #expect(verdict.lost.isEmpty && verdict.wrongReadState.isEmpty)
        #expect(verdict.duplicated == ["I"])
        let alone = OutboxOracle.check(truth: truth, ledger: Self.ledger, ledgerDropped: 0, rows: Self.rows, ignored: ["I"])
        #expect(alone.isClean, "\(alone)")
    }

    @Test func aMissingCreateIsLost() {
        let verdict = OutboxOracle.check(truth: ["inbox": [Self.item("A", read: true), Self.item("E")]],
                                         ledger: Self.ledger, ledgerDropped: 0, rows: Self.rows)
        #expect(verdict.lost == ["E"])
        #expect(!verdict.isClean)
    }

    @Test func aSecondCreateWithoutADeleteBetweenIsADuplicate() {
        let verdict = OutboxOracle.check(truth: ["inbox": [Self.item("A", read: true)]], ledger: Self.ledger,
                                         ledgerDropped: 0, rows: Self.rows + [Self.row("created", "A", read: true)])
        #expect(verdict.duplicated == ["A"])
        // A created again after its delete is not a duplicate (moved back, or a resync after a loss).
        let again = OutboxOracle.check(truth: ["inbox": [Self.item("A", read: true)]], ledger: Self.ledger, ledgerDropped: 0,
                                       rows: Self.rows + [Self.row("deleted", "A"), Self.row("created", "A", read: true)])
        #expect(again.isClean, "\(again)")
    }

    @Test func aPresentItemWhoseLastRowIsDeletedIsLost() {
        let verdict = OutboxOracle.check(truth: ["inbox": [Self.item("A", read: true)]], ledger: Self.ledger,
                                         ledgerDropped: 0, rows: Self.rows + [Self.row("deleted", "A")])
        #expect(verdict.lost == ["A"])
    }

    @Test func aStaleReadStateIsWrong() {
        let verdict = OutboxOracle.check(truth: ["inbox": [Self.item("A", read: true)]], ledger: Self.ledger,
                                         ledgerDropped: 0, rows: Self.rows.filter { $0.kind != "read_flag" })
        #expect(verdict.wrongReadState == ["A"])
    }

    @Test(arguments: ["B", "C"]) func anItemThatLeftWithoutADeleteRowIsMissingItsDelete(id: String) {
        let rows = Self.rows.filter { !($0.itemID == id && $0.kind == "deleted") }
        let verdict = OutboxOracle.check(truth: ["inbox": [Self.item("A", read: true)]], ledger: Self.ledger,
                                         ledgerDropped: 0, rows: rows)
        #expect(verdict.missingDeletes == [id])
    }

    @Test func anItemTheOutboxHoldsButTheFolderDoesNotNeedsADeleteEvenWithoutALedgerEntry() {
        // A population item (never in the ledger) deleted: the outbox's own history says it left.
        let verdict = OutboxOracle.check(truth: ["inbox": [Self.item("A", read: true)]], ledger: Self.ledger,
                                         ledgerDropped: 0, rows: Self.rows + [Self.row("created", "P")])
        #expect(verdict.missingDeletes == ["P"])
    }

    @Test func aLedgerThatDroppedEntriesFailsTheVerdict() {
        let verdict = OutboxOracle.check(truth: ["inbox": [Self.item("A", read: true)]], ledger: Self.ledger,
                                         ledgerDropped: 3, rows: Self.rows)
        #expect(!verdict.isClean)
    }
}
