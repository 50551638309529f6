# Shared helpers for scripts/test, scripts/demo and the benchmarks. Source it; do not run it.
# Everything here works on a fresh Debian machine: it installs what is missing and runs a private
# PostgreSQL server (as the postgres user when we are root, because initdb refuses root).

EWSF_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
EWSF_APT_PACKAGES=(pkg-config libcurl4-openssl-dev libxml2-dev libxml2-utils libpq-dev postgresql openssl
                   python3 python3-venv ca-certificates curl)  # curl: ProcessKillTests drive ews-sim with it

log() { printf '%s %s\n' "[$(date +%H:%M:%S)]" "$*" >&2; }
die() { log "error: $*"; exit 1; }

ensure_apt_packages() {
    local missing=()
    for p in "${EWSF_APT_PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    log "installing apt packages: ${missing[*]}"
    local sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
    $sudo apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
        || die "apt-get install ${missing[*]} failed"
}

ensure_swift() {
    command -v swift >/dev/null 2>&1 || [ -x /opt/swift/usr/bin/swift ] && export PATH="/opt/swift/usr/bin:$PATH"
    command -v swift >/dev/null 2>&1 || die "swift is not installed (expected on PATH or in /opt/swift)"
}

pg_bindir() {
    local d
    d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
    [ -n "$d" ] || die "no PostgreSQL server binaries under /usr/lib/postgresql"
    echo "$d"
}

# Runs a command as the postgres user when we are root, else as ourselves.
pg_as_owner() {
    if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# pg_start VAR_PREFIX: starts a throwaway server; sets EWSF_PG_DIR, EWSF_PG_PORT, EWSF_PG_URL.
pg_start() {
    local bin; bin=$(pg_bindir)
    EWSF_PG_DIR=$(mktemp -d /tmp/ewsfleet-pg.XXXXXX)
    EWSF_PG_PORT=$(free_port)
    chmod 755 "$EWSF_PG_DIR"
    [ "$(id -u)" -eq 0 ] && chown postgres: "$EWSF_PG_DIR"
    pg_as_owner "$bin/initdb" -D "$EWSF_PG_DIR/data" -A trust -U postgres -E UTF8 --locale=C.UTF-8 >"$EWSF_PG_DIR/initdb.log" 2>&1 \
        || { cat "$EWSF_PG_DIR/initdb.log" >&2; die "initdb failed"; }
    # Default durability (fsync and synchronous_commit on): benchmarks must measure real commits.
    # scripts/test alone sets EWSF_PG_FSYNC=off (see there).
    # Connections: the test suites run in parallel, each fleet fixture with its own pool and
    # listener, and child `ewsfleet` processes with theirs; 200 was once exceeded.
    cat >>"$EWSF_PG_DIR/data/postgresql.conf" <<CONF
port = $EWSF_PG_PORT
listen_addresses = '127.0.0.1'
unix_socket_directories = '$EWSF_PG_DIR'
max_connections = 600
fsync = ${EWSF_PG_FSYNC:-on}
CONF
    pg_as_owner "$bin/pg_ctl" -D "$EWSF_PG_DIR/data" -l "$EWSF_PG_DIR/server.log" -w -t 60 start >/dev/null \
        || { cat "$EWSF_PG_DIR/server.log" >&2; die "PostgreSQL did not start"; }
    EWSF_PG_URL="postgres://postgres@127.0.0.1:$EWSF_PG_PORT/postgres"
    log "PostgreSQL $(basename "$(dirname "$bin")") on 127.0.0.1:$EWSF_PG_PORT (data in $EWSF_PG_DIR)"
}

pg_restart_command() {
    echo "$EWSF_ROOT/scripts/lib/pgctl.sh restart $EWSF_PG_DIR"
}

pg_stop() {
    [ -n "${EWSF_PG_DIR:-}" ] && [ -d "$EWSF_PG_DIR/data" ] || return 0
    pg_as_owner "$(pg_bindir)/pg_ctl" -D "$EWSF_PG_DIR/data" -m fast -w stop >/dev/null 2>&1 || true
    rm -rf "$EWSF_PG_DIR"
    EWSF_PG_DIR=""
}

# A database on the private server, created fresh.
pg_create_db() {
    "$(pg_bindir)/createdb" -h 127.0.0.1 -p "$EWSF_PG_PORT" -U postgres "$1"
}

ensure_venv() {
    local venv="$EWSF_ROOT/.venv"
    [ -x "$venv/bin/python" ] || python3 -m venv "$venv" || die "python3 -m venv failed"
    if [ $# -gt 0 ]; then
        "$venv/bin/pip" install -q --disable-pip-version-check "$@" || die "pip install $* failed"
    fi
    echo "$venv"
}

# The usual start of a script that needs a private server: install what is missing, then start
# PostgreSQL, stopped again on every exit path (success, failure, Ctrl-C).
start_private_postgres() {
    ensure_apt_packages
    ensure_swift
    trap pg_stop EXIT
    trap 'exit 130' INT TERM
    pg_start
}
