import ArgumentParser
import Store
import Support

struct SecretsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "secrets", abstract: "Secret-key management.",
        subcommands: [GenerateKeyCommand.self, RotateSecretsCommand.self])
}

struct GenerateKeyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate-key",
        abstract: "Print a new random 32-byte key, base64, for EWSFLEET_SECRET_KEY or a key file.")

    func run() async throws {
        print(SecretKey.generate().base64)
    }
}

/// Re-seals every tenant secret under the current key (`secret.key`/`secret.keyFile`), opening the
/// old ones with `secret.previousKeys`/`secret.previousKeyFiles`. One transaction; idempotent.
struct RotateSecretsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rotate",
        abstract: "Re-seal every tenant secret under the current key while previous keys are still accepted.")

    @OptionGroup var global: GlobalOptions

    func run() async throws {
        let report = try await withDatabase(global) { config, pool in
            try await TenantRepository(pool: pool).rotateSecrets(keyring: config.keyring)
        }
        note("re-sealed \(report.resealed) tenant secret(s); \(report.current) already under the current key")
        print("resealed \(report.resealed) current \(report.current)")
    }
}
