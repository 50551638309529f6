import Crypto
import Foundation

/// The opaque SyncState handed to clients: which folder (or hierarchy root) of which mailbox, the
/// sequence the client is known to be up to (`base`), and how far the current paged sync got
/// (`watermark`), signed with the run's key. Anything else — tampered, truncated, another folder or
/// mailbox, another kind — is `ErrorInvalidSyncStateData`.
struct SyncState: Equatable {
    enum Kind: UInt8 { case items = 1, hierarchy = 2 }

    var kind: Kind
    var tenant: Int
    var mailbox: Int
    var folder: UInt32
    var base: UInt64
    var watermark: UInt64

    private static let version: UInt8 = 1
    private static let macLength = 16

    func encode(key: SymmetricKey) -> String {
        var bytes: [UInt8] = [Self.version, kind.rawValue]
        SimIds.append(&bytes, UInt16(tenant))
        SimIds.append(&bytes, UInt32(mailbox))
        SimIds.append(&bytes, folder)
        SimIds.append(&bytes, base)
        SimIds.append(&bytes, watermark)
        let mac = HMAC<SHA256>.authenticationCode(for: bytes, using: key)
        bytes += Array(mac).prefix(Self.macLength)
        return Data(bytes).base64EncodedString()
    }

    static func decode(_ text: String, key: SymmetricKey) -> SyncState? {
        guard let data = Data(base64Encoded: text), data.count == 28 + macLength else { return nil }
        let bytes = Array(data)
        let payload = Array(bytes[0..<28])
        let mac = Array(HMAC<SHA256>.authenticationCode(for: payload, using: key)).prefix(macLength)
        var difference: UInt8 = 0
        for (a, b) in zip(mac, bytes[28...]) { difference |= a ^ b }
        guard difference == 0, payload[0] == version, let kind = Kind(rawValue: payload[1]) else { return nil }
        return SyncState(
            kind: kind, tenant: Int(SimIds.read(payload, 2, UInt16.self)),
            mailbox: Int(SimIds.read(payload, 4, UInt32.self)), folder: SimIds.read(payload, 8, UInt32.self),
            base: SimIds.read(payload, 12, UInt64.self), watermark: SimIds.read(payload, 20, UInt64.self))
    }
}

/// One net change reported by SyncFolderItems.
struct ItemChange {
    enum Kind {
        case create, update, delete, readFlag
        /// gromox, in a sync from scratch: besides the Create of every item, a ReadFlagChange
        /// (without ChangeKey) for each item whose read state changed since it entered the folder
        /// (captured from 3.10: its ICS read-state stream starts from nothing too).
        case initialReadState
    }
    var kind: Kind
    var itemId: String
    var changeKey: String?
    var isRead: Bool
    var item: Item?
    var sortKey: UInt64
}

struct FolderChange {
    enum Kind { case create, update, delete }
    var kind: Kind
    /// nil for `delete` (the folder is gone; `deletedId` names it).
    var folder: Folder?
    var deletedId = ""
}
