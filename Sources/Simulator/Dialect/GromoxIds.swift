import Foundation

/// gromox's subscription ids: base64 of two little-endian UInt32s, a per-process counter (1, 2, …)
/// and the subscription timeout in minutes (`ews_streaming_subscription_timeout`, 5 min by
/// default), so the first streaming subscription after a start is always `AQAAAAUAAAA=`. Nothing
/// in them names a server, and after a restart the counter hands the same ids out again.
enum GromoxIds {
    static let streamingTimeoutMinutes: UInt32 = 5

    static func subscriptionId(_ counter: UInt32, timeoutMinutes: UInt32 = streamingTimeoutMinutes) -> String {
        var bytes: [UInt8] = []
        SimIds.append(&bytes, counter)
        SimIds.append(&bytes, timeoutMinutes)
        return Data(bytes).base64EncodedString()
    }

    /// The counter an id names, or nil when it is not a gromox id. gromox looks subscriptions up
    /// by the counter alone; the timeout half is not compared.
    /// Whole minutes of a lifetime, as the id's second word carries it (at least 1).
    static func minutes(_ duration: Duration) -> UInt32 {
        UInt32(max(1, (duration / .seconds(60)).rounded(.up)))
    }

    static func counter(_ id: String) -> UInt32? {
        guard id.utf8.count == 12, let data = Data(base64Encoded: id), data.count == 8 else { return nil }
        return SimIds.read(Array(data), 0, UInt32.self)
    }

    /// gromox cannot even read an id that is not its own 12-character form: the whole request is
    /// a `SOAP:Client` fault (HTTP 200, not a stream), as captured from 3.10.
    static func malformedFault(_ ids: [String]) -> SimResponse? {
        guard ids.contains(where: { counter($0) == nil }) else { return nil }
        return .xml(.ok, GromoxEnvelope.fault(code: "SOAP:Client", message: "E-3201: invalid subscription ID"))
    }

    /// The id under which the subscription an id names is stored (timeout half normalised).
    static func canonical(_ id: String, timeoutMinutes: UInt32 = streamingTimeoutMinutes) -> String? {
        counter(id).map { subscriptionId($0, timeoutMinutes: timeoutMinutes) }
    }
}
