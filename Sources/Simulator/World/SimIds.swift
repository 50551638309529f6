import Support
import Foundation

/// Opaque EWS ids, base64 like Exchange's. They encode where the object lives so that the server
/// can validate them; clients must treat them as opaque strings.
enum SimIds {
    struct ItemRef: Equatable { var tenant: Int; var mailbox: Int; var key: UInt64; var generation: UInt32 }
    struct FolderRef: Equatable { var tenant: Int; var mailbox: Int; var folder: UInt32 }

    static func itemId(tenant: Int, mailbox: Int, key: UInt64, generation: UInt32) -> String {
        var bytes: [UInt8] = [0x00, 0x00, 0x4D, 0x6B, 0x49]  // "AAMk"-like prefix + kind
        append(&bytes, UInt16(tenant))
        append(&bytes, UInt32(mailbox))
        append(&bytes, key)
        append(&bytes, generation)
        return Data(bytes).base64EncodedString()
    }

    static func folderId(tenant: Int, mailbox: Int, folder: UInt32) -> String {
        var bytes: [UInt8] = [0x00, 0x00, 0x4D, 0x6B, 0x46]
        append(&bytes, UInt16(tenant))
        append(&bytes, UInt32(mailbox))
        append(&bytes, folder)
        return Data(bytes).base64EncodedString()
    }

    static func parseItem(_ id: String) -> ItemRef? {
        guard let data = Data(base64Encoded: id), data.count == 23, Array(data.prefix(5)) == [0, 0, 0x4D, 0x6B, 0x49]
        else { return nil }
        let b = Array(data)
        return ItemRef(tenant: Int(read(b, 5, UInt16.self)), mailbox: Int(read(b, 7, UInt32.self)),
                       key: read(b, 11, UInt64.self), generation: read(b, 19, UInt32.self))
    }

    static func parseFolder(_ id: String) -> FolderRef? {
        guard let data = Data(base64Encoded: id), data.count == 15, Array(data.prefix(5)) == [0, 0, 0x4D, 0x6B, 0x46]
        else { return nil }
        let b = Array(data)
        return FolderRef(tenant: Int(read(b, 5, UInt16.self)), mailbox: Int(read(b, 7, UInt32.self)),
                         folder: read(b, 11, UInt32.self))
    }

    /// Item change keys look like Exchange's ("CQAAABYAAAA…") and change on every modification.
    static func itemChangeKey(_ sequence: UInt64) -> String {
        var bytes: [UInt8] = [0x09, 0, 0, 0, 0x16, 0, 0, 0]
        append(&bytes, sequence)
        return Data(bytes).base64EncodedString()
    }

    static func folderChangeKey(_ sequence: UInt64) -> String {
        var bytes: [UInt8] = [0x01, 0, 0, 0, 0x16, 0, 0, 0]
        append(&bytes, sequence)
        return Data(bytes).base64EncodedString()
    }

    /// Subscription ids mimic the observed layout: UInt16-LE length + server FQDN + UInt32-LE 16 +
    /// 16 random bytes + 8 bytes of ticks. The server reads the FQDN back to decide locality.
    static func subscriptionId(server: String, random: inout SplitMix64, ticks: UInt64) -> String {
        let fqdn = Array(server.utf8)
        var bytes: [UInt8] = []
        append(&bytes, UInt16(fqdn.count))
        bytes += fqdn
        append(&bytes, UInt32(16))
        append(&bytes, random.next())
        append(&bytes, random.next())
        append(&bytes, ticks)
        return Data(bytes).base64EncodedString()
    }

    /// The server FQDN embedded in a subscription id, or nil if the id is malformed.
    static func subscriptionServer(_ id: String) -> String? {
        guard let data = Data(base64Encoded: id), data.count >= 2 else { return nil }
        let b = Array(data)
        let length = Int(read(b, 0, UInt16.self))
        guard data.count == 2 + length + 4 + 16 + 8 else { return nil }
        return String(decoding: b[2..<(2 + length)], as: UTF8.self)
    }

    static func append<T: FixedWidthInteger>(_ bytes: inout [UInt8], _ value: T) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    static func read<T: FixedWidthInteger>(_ bytes: [UInt8], _ offset: Int, _: T.Type) -> T {
        var value: T = 0
        for index in 0..<MemoryLayout<T>.size {
            value |= T(bytes[offset + index]) << (8 * index)
        }
        return value
    }
}
