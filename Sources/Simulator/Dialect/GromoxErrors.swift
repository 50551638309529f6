/// gromox's error texts: every EWSError carries an "E-NNNN: …" message numbered by call site
/// (exch/ews/exceptions.hpp in gromox 3.10).
enum GromoxErrors {
    /// ErrorAccessDenied of the permission check at the start of each operation.
    static func accessDenied(_ operation: String) -> String {
        switch operation {
        case "GetFolder": "E-3136: cannot access target folder"
        case "SyncFolderHierarchy": "E-3137: cannot access target folder"
        case "SyncFolderItems": "E-3138: cannot access target folder"
        case "GetItem": "E-3139: cannot access target folder"
        case "FindItem": "E-3244: cannot access target folder"
        default: "E-3135: insufficient permission"
        }
    }

    static let impersonateUserDenied = "E-3243: insufficient permissions to impersonate user"
    static let userNotFound = "E-3330: impersonation: user not found"
    static let invalidSubscription = "Subscription is invalid."
    static let subscriptionNotFound = "Subscription not found"
}
