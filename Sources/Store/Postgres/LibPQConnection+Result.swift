internal import CLibPQ
import Foundation

extension LibPQConnection {
    /// Turns a `PGresult` into a `PostgresResult` or a `PostgresError`, and frees it.
    func consume(_ result: OpaquePointer?, name: String) throws(PostgresError) -> PostgresResult {
        defer { if let result { PQclear(result) } }
        guard let result else { throw failure(nil, name: name) }
        let status = PQresultStatus(result)
        if status == PGRES_TUPLES_OK || status == PGRES_COMMAND_OK || status == PGRES_EMPTY_QUERY {
            return convert(result, name: name)
        }
        if status == PGRES_COPY_IN || status == PGRES_COPY_OUT || status == PGRES_COPY_BOTH {
            // The protocol is now in COPY mode which this layer does not drive: drop the link.
            close()
            throw PostgresError(
                code: .misuse, message: "COPY is not supported through query/execute", queryName: name,
                target: target)
        }
        throw failure(result, name: name)
    }

    private func convert(_ result: OpaquePointer, name: String) -> PostgresResult {
        let columnCount = Int(PQnfields(result))
        let rowCount = Int(PQntuples(result))
        var names: [String] = []
        names.reserveCapacity(columnCount)
        for column in 0..<columnCount { names.append(String(cString: PQfname(result, Int32(column)))) }
        let columns = PostgresColumns(names: names, queryName: name, target: target)
        var rows: [PostgresRow] = []
        rows.reserveCapacity(rowCount)
        for row in 0..<rowCount {
            var values: [String?] = []
            values.reserveCapacity(columnCount)
            for column in 0..<columnCount {
                if PQgetisnull(result, Int32(row), Int32(column)) != 0 {
                    values.append(nil)
                } else {
                    values.append(String(cString: PQgetvalue(result, Int32(row), Int32(column))))
                }
            }
            rows.append(PostgresRow(columns: columns, values: values))
        }
        let tag = String(cString: PQcmdStatus(result))
        let affected = Int(String(cString: PQcmdTuples(result))) ?? 0
        return PostgresResult(rows: rows, affectedRows: affected, columns: names, commandTag: tag)
    }

    /// Builds the error for a failed statement. A connection that is no longer OK afterwards is
    /// closed and reported as `connectionLost` (keeping the server's SQLSTATE, e.g. 57P01).
    private func failure(_ result: OpaquePointer?, name: String) -> PostgresError {
        let lost = rawHandle.map { PQstatus($0) != CONNECTION_OK } ?? true
        var error = PostgresError(code: lost ? .connectionLost : .server, queryName: name, target: target)
        if let result, PQresultStatus(result) == PGRES_FATAL_ERROR {
            error.sqlState = field(result, ewsfleet_pg_diag_sqlstate)
            error.message = field(result, ewsfleet_pg_diag_message_primary)
                ?? String(cString: PQresultErrorMessage(result))
            error.detail = field(result, ewsfleet_pg_diag_message_detail)
            error.hint = field(result, ewsfleet_pg_diag_message_hint)
        }
        if error.message.isEmpty, let handle = rawHandle {
            error.message = String(cString: PQerrorMessage(handle))
        }
        if error.message.isEmpty { error.message = "no result from server" }
        error.message = info.redact(PostgresError.oneLine(error.message))
        if lost { close() }
        return error
    }

    private func field(_ result: OpaquePointer, _ code: Int32) -> String? {
        guard let pointer = PQresultErrorField(result, code) else { return nil }
        return String(cString: pointer)
    }
}
