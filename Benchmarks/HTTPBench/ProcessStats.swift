import Foundation
import Synchronization

/// CPU time and resident memory of this process, from /proc.
struct ProcessStats {
    /// User + system CPU time in microseconds (/proc/self/stat fields 14 and 15).
    var cpuMicros: Double
    /// VmRSS from /proc/self/status, in KiB.
    var rssKiB: Int

    static func read() -> ProcessStats {
        let stat = (try? String(contentsOfFile: "/proc/self/stat", encoding: .utf8)) ?? ""
        // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
        let rest = stat[stat.index(after: stat.lastIndex(of: ")") ?? stat.startIndex)...].split(separator: " ")
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        let utime = Double(rest.count > 12 ? rest[11] : "0") ?? 0
        let stime = Double(rest.count > 12 ? rest[12] : "0") ?? 0
        let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
        let rssLine = status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") } ?? ""
        let rss = Int(rssLine.split(separator: " ").dropFirst().first ?? "0") ?? 0
        return ProcessStats(cpuMicros: (utime + stime) / ticks * 1_000_000, rssKiB: rss)
    }
}

func monotonicSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

/// A shareable atomic counter (an `Atomic` itself cannot be captured by escaping closures).
final class SharedCounter: Sendable {
    private let value = Atomic<Int>(0)
    func add(_ n: Int = 1) -> Int { value.add(n, ordering: .relaxed).newValue }
    var current: Int { value.load(ordering: .relaxed) }
}
