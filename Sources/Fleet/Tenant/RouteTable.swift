import Synchronization

/// SMTP address → route, readable without hopping onto the tenant actor (EWS calls look it up).
final class RouteTable<C: Clock<Duration>>: Sendable where C.Instant: Sendable {
    private let routes = Mutex<[String: EWSClient<C>.Route]>([:])

    func route(for mailbox: String) -> EWSClient<C>.Route {
        routes.withLock { $0[mailbox] } ?? EWSClient<C>.Route(mailbox: mailbox)
    }

    func set(_ mailbox: String, _ route: EWSClient<C>.Route) {
        routes.withLock { $0[mailbox] = route }
    }
}
