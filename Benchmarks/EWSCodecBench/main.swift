import EWS
import Foundation

// ews-codec-bench: throughput of the GetStreamingEvents decoder.
// Builds a ~100 MiB stream body of notification envelopes (100 events each), feeds it to
// StreamingEventDecoder in 16 KiB chunks and prints MB/s and events/s.
// Usage: ews-codec-bench [--megabytes N] [--chunk BYTES] [--write-wrapped PATH]
//   --write-wrapped writes the same bytes inside one root element for `xmllint --stream`.

var megabytes = 100
var chunkSize = 16 * 1024
var wrappedPath: String?
var arguments = CommandLine.arguments.dropFirst().makeIterator()
while let argument = arguments.next() {
    switch argument {
    case "--megabytes": megabytes = Int(arguments.next() ?? "") ?? megabytes
    case "--chunk": chunkSize = Int(arguments.next() ?? "") ?? chunkSize
    case "--write-wrapped": wrappedPath = arguments.next()
    default:
        FileHandle.standardError.write(Data("unknown argument \(argument)\n".utf8))
        exit(2)
    }
}

func envelope(number: Int) -> String {
    var events = ""
    for index in 0..<100 {
        let id = "AAMkADBhNDY3NTk1LWE2ZGYtNGQ3My1hZmE4LTg2YmZlYjQ4YmQ2OABGAAAAAAC\(number)x\(index)AAA="
        let kind = ["CreatedEvent", "NewMailEvent", "ModifiedEvent", "DeletedEvent"][index % 4]
        events += "<t:\(kind)><t:TimeStamp>2026-11-24T10:00:00Z</t:TimeStamp>"
            + "<t:ItemId Id=\"\(id)\" ChangeKey=\"CQAAABYAAABhFfgM7MNwSYx0VZ0GoBMJAAAATVdC\"/>"
            + "<t:ParentFolderId Id=\"AQMkADBhNDY3NTk1LWE2ZGYtNGQ3My1hZmE4LTg2YmZlYjQ4YmQ2OAAuAAAD\" ChangeKey=\"AQAAAA==\"/>"
            + "</t:\(kind)>"
    }
    return "<Envelope xmlns=\"http://schemas.xmlsoap.org/soap/envelope/\"><soap11:Header xmlns:soap11=\"http://schemas.xmlsoap.org/soap/envelope/\">"
        + "<ServerVersionInfo MajorVersion=\"15\" MinorVersion=\"20\" Version=\"V2018_01_08\" xmlns=\"http://schemas.microsoft.com/exchange/services/2006/types\"/></soap11:Header>"
        + "<soap11:Body xmlns:soap11=\"http://schemas.xmlsoap.org/soap/envelope/\"><m:GetStreamingEventsResponse "
        + "xmlns:t=\"http://schemas.microsoft.com/exchange/services/2006/types\" xmlns:m=\"http://schemas.microsoft.com/exchange/services/2006/messages\">"
        + "<m:ResponseMessages><m:GetStreamingEventsResponseMessage ResponseClass=\"Success\"><m:ResponseCode>NoError</m:ResponseCode>"
        + "<m:Notifications><m:Notification><t:SubscriptionId>JgBibjFwcjAzbWIyMDIubmFtcHJkMDMucHJvZC5vdXRsb29rLmNvbRAAAAD\(number)=</t:SubscriptionId>"
        + events
        + "</m:Notification></m:Notifications></m:GetStreamingEventsResponseMessage></m:ResponseMessages>"
        + "</m:GetStreamingEventsResponse></soap11:Body></Envelope>"
}

var body: [UInt8] = []
body.reserveCapacity(megabytes << 20 + (64 << 10))
var envelopes = 0
while body.count < megabytes << 20 {
    body += Array(envelope(number: envelopes).utf8)
    envelopes += 1
}

if let wrappedPath {
    var wrapped = Data("<stream>".utf8)
    wrapped.append(contentsOf: body)
    wrapped.append(Data("</stream>".utf8))
    try wrapped.write(to: URL(fileURLWithPath: wrappedPath))
}

/// CPU time of this thread: the figure that matters on a loaded machine ("one core").
func threadCPUSeconds() -> Double {
    var spec = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &spec)
    return Double(spec.tv_sec) + Double(spec.tv_nsec) / 1e9
}

let decoder = StreamingEventDecoder()
let cpuStart = threadCPUSeconds()
var events = 0
var messages = 0
let clock = ContinuousClock()
let elapsed = try clock.measure {
    try body.withUnsafeBufferPointer { all in
        var offset = 0
        while offset < all.count {
            let end = min(offset + chunkSize, all.count)
            for message in try decoder.feed(UnsafeBufferPointer(rebasing: all[offset..<end])) {
                messages += 1
                if case .notifications(let notifications) = message {
                    for notification in notifications { events += notification.events.count }
                }
            }
            offset = end
        }
    }
    try decoder.finish()
}
let cpuSeconds = threadCPUSeconds() - cpuStart
let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
let mb = Double(body.count) / 1_000_000
guard events == envelopes * 100, messages == envelopes else {
    FileHandle.standardError.write(Data("decoded \(events) events in \(messages) messages, expected \(envelopes * 100)\n".utf8))
    exit(1)
}
print("bytes=\(body.count) envelopes=\(envelopes) events=\(events) chunk=\(chunkSize)")
print(String(format: "wall: seconds=%.3f MB/s=%.1f events/s=%.0f", seconds, mb / seconds, Double(events) / seconds))
print(String(format: "cpu: seconds=%.3f MB/s=%.1f events/s=%.0f", cpuSeconds, mb / cpuSeconds,
    Double(events) / cpuSeconds))
