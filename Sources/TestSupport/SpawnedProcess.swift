import CSpawn
public import Foundation
import Synchronization

/// A child process started with `posix_spawn`, with the part of `Foundation.Process`'s API the
/// tests use. Foundation's `Process.run()` on Linux crashes now and then: it copies the whole
/// 256-byte `d_name` of each `/proc/self/fd` entry, reading past glibc's readdir buffer
/// (swift-corelibs-foundation PR #5472, not in Swift 6.3.1). A suite that starts children while
/// holding many sockets hit it in about one full run in five.
///
/// Standard streams take a `Pipe`, a `FileHandle`, or nil for /dev/null (the default is to
/// inherit ours). The child gets no other descriptor of ours, its own process group and an empty
/// signal mask. `waitUntilExit()` blocks: call it off the cooperative pool.
///
/// `@unchecked Sendable`: the launch properties are set before `run()` on one thread; the exit
/// status is behind a Mutex.
public final class SpawnedProcess: @unchecked Sendable {
    public var executableURL: URL?
    public var arguments: [String] = []
    /// nil = ours.
    public var environment: [String: String]?
    public var currentDirectoryURL: URL?
    public var standardInput: Any? = FileHandle.standardInput
    public var standardOutput: Any? = FileHandle.standardOutput
    public var standardError: Any? = FileHandle.standardError
    public private(set) var processIdentifier: Int32 = 0
    /// The raw wait status, once reaped.
    private let status = Mutex<Int32?>(nil)

    public init() {}

    public struct SpawnError: Error, CustomStringConvertible {
        public var description: String
    }

    public func run() throws {
        guard let path = executableURL?.path else { throw SpawnError(description: "no executable") }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        var opened: [Int32] = []
        defer { opened.forEach { close($0) } }
        func source(_ stream: Any?, input: Bool) throws -> Int32 {
            switch stream {
            case let pipe as Pipe:
                return input ? pipe.fileHandleForReading.fileDescriptor : pipe.fileHandleForWriting.fileDescriptor
            case let handle as FileHandle where handle !== FileHandle.nullDevice:
                return handle.fileDescriptor
            default:
                let fd = open("/dev/null", O_RDWR | O_CLOEXEC)
                guard fd >= 0 else { throw SpawnError(description: "open /dev/null: errno \(errno)") }
                opened.append(fd)
                return fd
            }
        }
        let streams = [(standardInput, true), (standardOutput, false), (standardError, false)]
        for (target, (stream, input)) in streams.enumerated() {
            let fd = try source(stream, input: input)
            // dup2 onto itself would keep close-on-exec set; Foundation's standard handles are 0-2.
            if fd != Int32(target) { try check(posix_spawn_file_actions_adddup2(&actions, fd, Int32(target)), "adddup2") }
        }
        try check(ewsf_spawn_addclosefrom(&actions, 3), "addclosefrom")
        if let directory = currentDirectoryURL?.path { try check(ewsf_spawn_addchdir(&actions, directory), "addchdir") }

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        try check(posix_spawnattr_setsigmask(&attributes, &noSignals), "setsigmask")
        try check(posix_spawnattr_setpgroup(&attributes, 0), "setpgroup")
        try check(posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETPGROUP)), "setflags")

        let argv = Self.cStrings([path] + arguments)
        let envp = Self.cStrings((environment ?? ProcessInfo.processInfo.environment).map { "\($0)=\($1)" })
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        var pid = pid_t()
        try check(posix_spawn(&pid, path, &actions, &attributes, argv + [nil], envp + [nil]), "posix_spawn \(path)")
        processIdentifier = pid
        // Our copies of the child's pipe ends: without closing them a reader never sees EOF.
        if let pipe = standardInput as? Pipe { try? pipe.fileHandleForReading.close() }
        if let pipe = standardOutput as? Pipe { try? pipe.fileHandleForWriting.close() }
        if let pipe = standardError as? Pipe { try? pipe.fileHandleForWriting.close() }
    }

    public var isRunning: Bool {
        guard processIdentifier > 0 else { return false }
        return status.withLock { status in
            if status != nil { return false }
            var raw: Int32 = 0
            guard waitpid(processIdentifier, &raw, WNOHANG) == processIdentifier else { return true }
            status = raw
            return false
        }
    }

    public func waitUntilExit() {
        guard processIdentifier > 0 else { return }
        while status.withLock({ $0 }) == nil {
            var raw: Int32 = 0
            let result = waitpid(processIdentifier, &raw, 0)
            if result == processIdentifier {
                status.withLock { $0 = raw }
            } else if result == -1 && errno != EINTR {
                // ECHILD: `isRunning` reaped it meanwhile; it stores the status under the lock,
                // so the loop condition sees it now.
                if status.withLock({ $0 }) == nil { return }
            }
        }
    }

    /// The exit code, or the number of the signal that ended the process.
    public var terminationStatus: Int32 {
        guard let raw = status.withLock({ $0 }) else { return -1 }
        return raw & 0x7f == 0 ? (raw >> 8) & 0xff : raw & 0x7f
    }

    public func terminate() { signal(SIGTERM) }
    public func interrupt() { signal(SIGINT) }

    public func signal(_ number: Int32) {
        if processIdentifier > 0 { kill(processIdentifier, number) }
    }

    private func check(_ result: Int32, _ what: String) throws {
        guard result == 0 else { throw SpawnError(description: "\(what): \(String(cString: strerror(result)))") }
    }

    private static func cStrings(_ strings: [String]) -> [UnsafeMutablePointer<CChar>?] {
        strings.map { strdup($0) }
    }
}
