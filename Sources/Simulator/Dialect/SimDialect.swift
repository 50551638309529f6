/// Which real server a tenant imitates on the wire. Exchange is the reference; gromox (grommunio's
/// open-source EWS server) differs in ways a client must survive (see `docs/ews-sim-faults.md`,
/// "Dialects", and `../shared/tools/gromox/README.md`): prefixes and pretty-printing, empty lists
/// in every streaming message, folder-level events only for folder subscriptions, subscriptions
/// owned by the effective user, small subscription ids that restart from the beginning, no
/// affinity. Each tenant carries its own dialect, so one simulator can serve both at once.
public enum SimDialect: String, Sendable, CaseIterable, Codable {
    case exchange
    case gromox
}
