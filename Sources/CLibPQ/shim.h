// libpq, the PostgreSQL C client. Only Store's PG* wrapper types import this module.
#ifndef EWSFLEET_CLIBPQ_SHIM_H
#define EWSFLEET_CLIBPQ_SHIM_H
#include <libpq-fe.h>

// The PG_DIAG_* field codes are character-literal macros, which Swift does not import.
static const int ewsfleet_pg_diag_sqlstate = PG_DIAG_SQLSTATE;
static const int ewsfleet_pg_diag_message_primary = PG_DIAG_MESSAGE_PRIMARY;
static const int ewsfleet_pg_diag_message_detail = PG_DIAG_MESSAGE_DETAIL;
static const int ewsfleet_pg_diag_message_hint = PG_DIAG_MESSAGE_HINT;
#endif
