import Synchronization

/// Cookies of one EWS connection group (EWS §8.2).
///
/// Captures `X-BackEndOverrideCookie` from `Set-Cookie` response headers and sends it back as a
/// `Cookie:` header on every later call of the group, so all calls land on the mailbox server that
/// holds the group's subscription.
public final class AffinityCookieStore: Sendable {
    /// Cookie names to capture; others are ignored (EWS also sends `exchangecookie` etc.).
    public let capturedNames: Set<String>
    private let cookies = Mutex<[(name: String, value: String)]>([])

    public init(capturing names: Set<String> = ["X-BackEndOverrideCookie"]) {
        self.capturedNames = names
    }

    /// Current cookies, in the order first seen.
    public var all: [(name: String, value: String)] { cookies.withLock { $0 } }

    public func value(of name: String) -> String? {
        cookies.withLock { list in list.first { $0.name == name }?.value }
    }

    public func removeAll() { cookies.withLock { $0.removeAll() } }

    /// Seeds a cookie, e.g. a group's X-BackEndOverrideCookie persisted before a restart.
    public func set(_ name: String, _ value: String) {
        cookies.withLock { list in
            if let i = list.firstIndex(where: { $0.name == name }) {
                list[i].value = value
            } else {
                list.append((name: name, value: value))
            }
        }
    }

    /// The `Cookie:` header value, or nil when nothing is stored.
    var cookieHeader: String? {
        let list = all
        guard !list.isEmpty else { return nil }
        return list.map { "\($0.name)=\($0.value)" }.joined(separator: "; ")
    }

    /// Reads every `Set-Cookie` value of a response.
    func capture(from head: HTTPResponseHead) {
        for setCookie in head.headers(named: "Set-Cookie") {
            let pair = setCookie.split(separator: ";", maxSplits: 1).first ?? ""
            guard let eq = pair.firstIndex(of: "=") else { continue }
            let name = pair[..<eq].trimmingCharacters(in: " \t")
            let value = pair[pair.index(after: eq)...].trimmingCharacters(in: " \t")
            guard capturedNames.contains(name) else { continue }
            cookies.withLock { list in
                if let i = list.firstIndex(where: { $0.name == name }) {
                    list[i].value = value
                } else {
                    list.append((name: name, value: value))
                }
            }
        }
    }
}

extension Substring {
    fileprivate func trimmingCharacters(in set: String) -> String {
        var s = self[...]
        while let c = s.first, set.contains(c) { s = s.dropFirst() }
        while let c = s.last, set.contains(c) { s = s.dropLast() }
        return String(s)
    }
}
