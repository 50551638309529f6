public import ArgumentParser
import EWS
import Foundation

/// `ewsfleet ews …`: EWS wire tools for operators.
public struct EWSCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "ews", abstract: "EWS wire-format tools", subcommands: [Decode.self])

    public init() {}

    /// `ewsfleet ews decode FILE|-`: one JSON line per decoded message on stdout.
    public struct Decode: AsyncParsableCommand {
        public static let configuration = CommandConfiguration(
            commandName: "decode",
            abstract: "Decode a captured EWS response or raw GetStreamingEvents body into JSON lines.")

        @Argument(help: "Captured response/body file, or '-' for stdin.")
        var file: String

        public init() {}

        public func run() async throws {
            let data: Data
            do {
                data = file == "-"
                    ? FileHandle.standardInput.readDataToEndOfFile()
                    : try Data(contentsOf: URL(fileURLWithPath: file))
            } catch {
                FileHandle.standardError.write(Data("ews decode: cannot read \(file): \(error.localizedDescription)\n".utf8))
                throw ExitCode(2)
            }
            var output = Data()
            do {
                try EWSDecodeTool.decode(data) { line in
                    output.append(contentsOf: line.utf8)
                    output.append(0x0A)
                    if output.count >= 64 * 1024 {
                        FileHandle.standardOutput.write(output)
                        output.removeAll(keepingCapacity: true)
                    }
                }
                FileHandle.standardOutput.write(output)
            } catch {
                FileHandle.standardOutput.write(output)
                FileHandle.standardError.write(Data("ews decode: \(error)\n".utf8))
                throw ExitCode(1)
            }
        }
    }
}
