#!/usr/bin/env bash
# pgctl.sh restart|restart-immediate|stop|start DIR — controls a server started by common.sh's pg_start.
# Tests get `pgctl.sh restart DIR` as EWSFLEET_TEST_PG_RESTART to restart PostgreSQL mid-run; the
# chaos soak uses restart-immediate (no shutdown checkpoint: the server recovers as after a crash).
set -euo pipefail
source "$(dirname "$0")/common.sh"
cmd=$1 dir=$2 mode=fast
if [ "$cmd" = restart-immediate ]; then cmd=restart mode=immediate; fi
pg_as_owner "$(pg_bindir)/pg_ctl" -D "$dir/data" -l "$dir/server.log" -m "$mode" -w -t 60 "$cmd" >/dev/null
