public import Foundation

/// Runs a built executable of this package (next to the test bundle) and captures its output.
public struct CommandResult: Sendable {
    public var status: Int32
    public var stdout: String
    public var stderr: String
}

public enum CommandRunner {
    /// The directory holding the package's built products (where the test bundle lives).
    public static var productsDirectory: URL {
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    }

    public static func run(_ product: String, _ arguments: [String], environment: [String: String] = [:],
                           stdin: Data? = nil) throws -> CommandResult {
        try runTool(productsDirectory.appendingPathComponent(product).path, arguments, environment: environment, stdin: stdin)
    }

    /// Runs any executable by path (e.g. /usr/bin/curl) the same way.
    public static func runTool(_ path: String, _ arguments: [String], environment: [String: String] = [:],
                               stdin: Data? = nil) throws -> CommandResult {
        let process = SpawnedProcess()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        for (k, v) in environment { env[k] = v }
        process.environment = env
        let out = Pipe(), err = Pipe(), input = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = input
        try process.run()
        if let stdin { input.fileHandleForWriting.write(stdin) }
        try input.fileHandleForWriting.close()
        // Read both pipes to the end before waiting, so a chatty child cannot block on a full pipe.
        let errData = Locked(Data())
        let finished = DispatchSemaphore(value: 0)
        let reader = Thread {
            errData.set(err.fileHandleForReading.readDataToEndOfFile())
            finished.signal()
        }
        reader.start()
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        finished.wait()
        return CommandResult(status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
                             stderr: String(decoding: errData.value, as: UTF8.self))
    }
}

/// A value written once by another thread.
final class Locked: @unchecked Sendable {  // guarded by `lock`
    private let lock = NSLock()
    private var stored: Data
    init(_ value: Data) { stored = value }
    func set(_ value: Data) { lock.withLock { stored = value } }
    var value: Data { lock.withLock { stored } }
}
