// libpq, the PostgreSQL C client. Only Store's PG* wrapper types import this module.
#ifndef EWSFLEET_CLIBPQ_SHIM_H
#define EWSFLEET_CLIBPQ_SHIM_H
#include <libpq-fe.h>
#endif
