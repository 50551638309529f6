/// The one error a command reports: a single line on stderr and a documented exit code.
/// Exit codes (README "Exit codes"): 0 success, 1 failure, 64 usage, 65 invalid input data,
/// 69 a service (database, EWS endpoint) is unavailable, 77 permission or authentication refused,
/// 78 configuration error.
struct CLIError: Error, CustomStringConvertible {
    enum Kind: Int32 {
        case failure = 1
        case usage = 64
        case invalidInput = 65
        case unavailable = 69
        case permission = 77
        case configuration = 78
    }

    var kind: Kind
    var message: String

    init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    var description: String { message }
}
