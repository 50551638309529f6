import Foundation
import Testing
import TestSupport

/// The test suites' child-process launcher (posix_spawn instead of Foundation's `Process.run()`).
@Suite struct SpawnedProcessTests {
    @Test func capturesOutputExitCodeEnvironmentAndDirectory() throws {
        let dir = FileManager.default.temporaryDirectory.path
        let result = try CommandRunner.runTool("/bin/sh", ["-c", "cat; pwd >&2; echo \"$EWSF_X\"; exit 3"],
                                               environment: ["EWSF_X": "from-env"], stdin: Data("in\n".utf8))
        #expect(result.status == 3)
        #expect(result.stdout == "in\nfrom-env\n")
        let process = SpawnedProcess()
        process.executableURL = URL(fileURLWithPath: "/bin/pwd")
        process.currentDirectoryURL = URL(fileURLWithPath: dir)
        let out = Pipe()
        process.standardOutput = out
        try process.run()
        let printed = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(printed.trimmingCharacters(in: .whitespacesAndNewlines) == URL(fileURLWithPath: dir).resolvingSymlinksInPath().path)
        #expect(process.terminationStatus == 0 && !process.isRunning)
    }

    @Test func aSignalEndsTheChildAndIsReportedAndNoOtherDescriptorIsInherited() throws {
        // Ours, without close-on-exec: the child must still not have them.
        var keep: [Int32] = [0, 0]
        #expect(pipe(&keep) == 0)
        defer { keep.forEach { close($0) } }
        let process = SpawnedProcess()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", "ls /proc/self/fd; exec sleep 30"]
        let out = Pipe()
        process.standardOutput = out
        process.standardError = nil
        try process.run()
        // `ls` lists 0-2 and its own directory descriptor; then `sleep` holds the pipe open.
        var listing = ""
        while !listing.contains("\n3\n") && !listing.hasSuffix("\n3") {
            let chunk = out.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            listing += String(decoding: chunk, as: UTF8.self)
            if listing.split(separator: "\n").count >= 4 { break }
        }
        let fds = Set(listing.split(separator: "\n").compactMap { Int($0) })
        #expect(fds.isDisjoint(with: keep.map(Int.init)))
        #expect(fds.filter { $0 > 3 }.isEmpty, "only 0-2 and ls's own directory: \(fds.sorted())")
        #expect(process.isRunning)
        process.terminate()
        process.waitUntilExit()
        #expect(process.terminationStatus == SIGTERM)
        #expect(!process.isRunning)
    }
}
