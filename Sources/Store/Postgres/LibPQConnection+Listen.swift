internal import CLibPQ
import Foundation

extension LibPQConnection {
    /// `LISTEN "channel"` with the channel quoted as an identifier by libpq.
    func listen(_ channel: String) throws(PostgresError) {
        guard let handle = rawHandle, let quoted = PQescapeIdentifier(handle, channel, channel.utf8.count) else {
            throw PostgresError(code: .connectionLost, message: "connection is closed", queryName: "LISTEN", target: target)
        }
        let identifier = String(cString: quoted)
        PQfreemem(quoted)
        try execute("LISTEN \(identifier)", name: "LISTEN \(channel)")
    }

    /// Waits up to `timeoutMilliseconds` for the socket to become readable, then returns every
    /// notification that arrived. A short timeout keeps the LISTEN loop responsive to shutdown.
    func awaitNotifications(timeoutMilliseconds: Int32) throws(PostgresError) -> [PostgresNotification] {
        guard let handle = rawHandle, PQstatus(handle) == CONNECTION_OK else {
            close()
            throw PostgresError(code: .connectionLost, message: "connection is closed", target: target)
        }
        var notifications = drainNotifications(handle)
        if !notifications.isEmpty { return notifications }
        var descriptor = pollfd(fd: PQsocket(handle), events: Int16(POLLIN), revents: 0)
        let ready = poll(&descriptor, 1, timeoutMilliseconds)
        if ready < 0 && errno != EINTR {
            let reason = String(cString: strerror(errno))
            close()
            throw PostgresError(code: .connectionLost, message: "poll failed: \(reason)", target: target)
        }
        if ready > 0 {
            if PQconsumeInput(handle) == 0 || PQstatus(handle) != CONNECTION_OK {
                let reason = PostgresError.oneLine(String(cString: PQerrorMessage(handle)))
                close()
                throw PostgresError(code: .connectionLost, message: info.redact(reason), target: target)
            }
            notifications = drainNotifications(handle)
        }
        return notifications
    }

    private func drainNotifications(_ handle: OpaquePointer) -> [PostgresNotification] {
        var notifications: [PostgresNotification] = []
        while let notify = PQnotifies(handle) {
            notifications.append(
                .notification(
                    channel: String(cString: notify.pointee.relname), payload: String(cString: notify.pointee.extra),
                    pid: notify.pointee.be_pid))
            PQfreemem(notify)
        }
        return notifications
    }
}
