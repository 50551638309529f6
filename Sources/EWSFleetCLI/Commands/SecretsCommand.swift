import ArgumentParser
import Store

struct SecretsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "secrets", abstract: "Secret-key management.",
        subcommands: [GenerateKeyCommand.self])
}

struct GenerateKeyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate-key",
        abstract: "Print a new random 32-byte key, base64, for EWSFLEET_SECRET_KEY or a key file.")

    func run() async throws {
        print(SecretKey.generate().base64)
    }
}
