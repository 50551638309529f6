import ArgumentParser
import Store

extension CLIError {
    /// Maps library errors to one operator-facing line and an exit code; nil for ArgumentParser's own.
    static func presentable(_ error: any Error) -> CLIError? {
        switch error {
        case let e as CLIError: return e
        case let e as PostgresError:
            switch e.code {
            case .connectionFailed, .connectionLost, .timeout: return CLIError(.unavailable, e.description)
            case .invalidConfiguration: return CLIError(.configuration, e.description)
            default: return CLIError(.failure, e.description)
            }
        case let e as PlainHTTPRefusal:
            // `tenant update` meets it in the store: the row as updated would send the credential
            // over plain http. Like add's check in validate(), it is a usage error.
            return CLIError(.usage, e.usageMessage)
        case let e as StoreError:
            // An invalid address, an unknown tenant or a duplicate mailbox is all bad input data.
            return CLIError(.invalidInput, e.message)
        case let e as SecretError:
            return CLIError(e.code == .decryptionFailed || e.code == .unknownKey ? .permission : .configuration, e.message)
        case let e as MigrationError: return CLIError(.failure, e.message)
        case is ValidationError, is CleanExit, is ExitCode: return nil
        default:
            if String(describing: type(of: error)).hasPrefix("CommandError") { return nil }
            return CLIError(.failure, String(describing: error))
        }
    }
}
