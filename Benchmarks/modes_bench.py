#!/usr/bin/env python3
"""Sync-mode benchmark (issue 13): what one mode costs and how late its changes land.

For N mailboxes (inbox) of T tenants in MODE:
  - idle: with no traffic, after the first round of syncs, ewsfleet's CPU and the EWS requests per
    mailbox per hour by operation, counted by ews-sim (server-side: ewsfleet cannot under-report);
  - traffic at RATE events/s: latency from ews-sim's ledger time of each delivered item to
    committed_at of its `created` row (p50/p99), and calls per committed change (SyncFolderItems,
    FindItem, GetItem), background polls included;
  - the same for items that left the inbox (deleted, or moved out: the ledger's time to the
    `deleted` row), which `sync.deleteOnNotification` records before any sync in notify mode
    (set EWSFLEET_SYNC_DELETE_ON_NOTIFICATION=false to measure without it);
  - at the end, every mailbox's mirror against ews-sim's ground truth.
Run through Benchmarks/modes.sh, which starts PostgreSQL and builds release binaries.
Only the Python standard library is used.
"""
import json, os, signal, subprocess, sys, time, urllib.parse, urllib.request

BIN = sys.argv[1]
DB = sys.argv[2]
MODE = os.environ.get("MODE", "sync-only")
MAILBOXES = int(os.environ.get("MAILBOXES", "1000"))
TENANTS = int(os.environ.get("TENANTS", "10"))
INTERVAL = int(os.environ.get("INTERVAL", "60"))
IDLE = float(os.environ.get("IDLE_SECONDS", "180"))
RATE = float(os.environ.get("RATE", "20"))
SECONDS = float(os.environ.get("SECONDS", "180"))
# The tenants' property profile (`--properties`): what each change carries costs GetItem bytes.
PROPERTIES = os.environ.get("PROPERTIES", "default")
# Every mailbox's --filter (none by default): a filtered scope adds FindItem to first syncs.
FILTER = os.environ.get("FILTER", "")
# A search folder every mailbox watches beside its inbox (ews-sim --unread-search-folder: the inbox's
# unread items), by display name: each change to it costs a FindItem listing.
SEARCH = os.environ.get("SEARCH", "")
OPERATIONS = ["SyncFolderItems", "GetItem", "FindItem", "FindFolder", "Subscribe", "GetStreamingEvents", "GetFolder", "Unsubscribe"]


def psql(sql):
    out = subprocess.run(["psql", DB, "-tAq", "-F", "|", "-c", sql], capture_output=True, text=True, check=True)
    return [line.split("|") for line in out.stdout.splitlines() if line]


def http(url, body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method="POST" if data else "GET")
    with urllib.request.urlopen(req, timeout=60) as r:
        return json.load(r)


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def requests(sim_url):
    """EWS requests by operation, summed over the tenants (ews-sim's own count)."""
    totals = {op: 0 for op in OPERATIONS}
    for by_op in http(sim_url + "/_sim/stats")["requests_by_tenant"].values():
        for op in OPERATIONS:
            totals[op] += by_op.get(op, 0)
    return totals


def delta(after, before):
    return {op: after[op] - before[op] for op in OPERATIONS}


def wait(what, condition, limit):
    start = time.time()
    while not condition():
        if time.time() - start > limit:
            raise SystemExit(f"timed out waiting until {what}")
        time.sleep(0.5)
    return time.time() - start


def main():
    sim = subprocess.Popen([f"{BIN}/ews-sim", "--tenants", str(TENANTS), "--mailboxes", str(MAILBOXES // TENANTS),
                            "--items-per-mailbox", "5", "--servers", "5", "--heartbeat", "45", "--log-level", "warning"]
                           + (["--unread-search-folder", SEARCH] if SEARCH else []),
                           stdout=subprocess.PIPE, text=True)
    sim_url = json.loads(sim.stdout.readline())["url"]
    env = dict(os.environ, EWSFLEET_DATABASE_URL=DB,
               EWSFLEET_SECRET_KEY=subprocess.run([f"{BIN}/ewsfleet", "secrets", "generate-key"], capture_output=True,
                                                  text=True, check=True).stdout.strip(),
               EWSFLEET_LOG_LEVEL="warning")
    subprocess.run([f"{BIN}/ewsfleet", "db", "migrate"], env=env, check=True, capture_output=True)
    tenants = http(sim_url + "/_sim/tenants")
    for t in tenants:
        subprocess.run([f"{BIN}/ewsfleet", "tenant", "add", t["name"], "--ews-url", t["ews_url"], "--autodiscover-url",
                        t["autodiscover_url"], "--auth", "basic", "--identity", t["username"], "--secret-env", "PW",
                        "--max-concurrent", "27", "--rate", "100", "--allow-plain-http",  # ews-sim: plain http://
                        "--mode", MODE, "--poll-interval", f"{INTERVAL}s", "--properties", PROPERTIES],
                       env=dict(env, PW=t["password"]), check=True, capture_output=True)
        addresses = ",".join(f'"{m}"' for m in t["mailboxes"])
        folders = f"{{inbox,\"search:{SEARCH}\"}}" if SEARCH else "{inbox}"
        psql(f"INSERT INTO mailboxes (tenant_id, smtp_address, folders) SELECT id, unnest('{{{addresses}}}'::text[]), "
             f"'{folders}'::text[] FROM tenants WHERE name = '{t['name']}'")
    if FILTER:
        # The canonical form, as `mailbox update --filter` would store it.
        subprocess.run([f"{BIN}/ewsfleet", "mailbox", "update", tenants[0]["name"], tenants[0]["mailboxes"][0], "--filter", FILTER],
                       env=env, check=True, capture_output=True)
        psql("UPDATE mailboxes SET filter = (SELECT filter FROM mailboxes WHERE filter IS NOT NULL LIMIT 1)")
    resting = "scheduled" if MODE == "sync-only" else "streaming"
    results = {"mode": MODE, "mailboxes": MAILBOXES, "tenants": TENANTS, "poll_interval_s": INTERVAL, "rate": RATE,
               "properties": PROPERTIES, "filter": FILTER or None, "search_folder": SEARCH or None}
    log = open("/tmp/modes-bench-fleet.log", "w")
    fleet = subprocess.Popen([f"{BIN}/ewsfleet", "run", "--instance-id", "modes-1"], env=env, stdout=log, stderr=log)
    try:
        def all_synced():
            rows = psql(f"SELECT count(*) FILTER (WHERE s.state IN ('{resting}', 'syncing')), "
                        f"(SELECT count(*) FROM folder_sync WHERE sync_state <> ''), "
                        f"(SELECT count(*) FROM folder_sync WHERE folder_id LIKE 'search:%' AND last_sync_at IS NOT NULL) "
                        f"FROM mailbox_status s")
            return int(rows[0][0]) >= MAILBOXES and int(rows[0][1]) >= MAILBOXES and (not SEARCH or int(rows[0][2]) >= MAILBOXES)
        results["first_round_s"] = wait("every mailbox has synced once", all_synced, 900)
        results["first_round_requests"] = {op: n for op, n in requests(sim_url).items() if n}

        # Idle: polls (sync-only) or heartbeats and safety syncs (notify), no traffic.
        before, cpu0, t0 = requests(sim_url), cpu_seconds(fleet.pid), time.time()
        time.sleep(IDLE)
        idle = delta(requests(sim_url), before)
        elapsed = time.time() - t0
        results["idle"] = {
            "seconds": round(elapsed, 1),
            "cpu_percent": round(100 * (cpu_seconds(fleet.pid) - cpu0) / elapsed, 2),
            "rss_mib": round(rss_mib(fleet.pid), 1),
            "requests_per_mailbox_per_hour": {op: round(n * 3600 / elapsed / MAILBOXES, 2) for op, n in idle.items() if n},
        }

        # Traffic: how late changes land, and what each costs.
        before, cpu0, t0 = requests(sim_url), cpu_seconds(fleet.pid), time.time()
        http(sim_url + "/_sim/traffic", {"rate": RATE})
        time.sleep(SECONDS)
        http(sim_url + "/_sim/traffic", {"rate": 0})
        stop = time.time()
        time.sleep(INTERVAL + 15 if MODE == "sync-only" else 15)  # the last round of syncs
        calls = delta(requests(sim_url), before)
        cpu = cpu_seconds(fleet.pid) - cpu0
        committed_changes = int(psql(f"SELECT count(*) FROM changes WHERE committed_at >= to_timestamp({t0})")[0][0])
        delivered, departed = {}, {}
        for t in tenants:
            for m in t["mailboxes"]:
                for e in http(f"{sim_url}/_sim/ledger?mailbox={m}")["entries"]:
                    if not t0 <= e["timestamp"] <= stop:
                        continue
                    if e["kind"] == "created" and e["folder"] == "inbox":
                        delivered[e["item_id"]] = e["timestamp"]
                    elif e["kind"] == "deleted" and e["folder"] == "inbox":
                        departed[e["item_id"]] = e["timestamp"]
                    elif e["kind"] == "moved" and e.get("old_item_id"):
                        departed[e["old_item_id"]] = e["timestamp"]
        committed = {row[0]: float(row[1]) for row in psql(
            f"SELECT item_id, extract(epoch FROM committed_at) FROM changes WHERE kind = 'created' AND committed_at >= to_timestamp({t0})")}
        latencies = sorted(committed[i] - t for i, t in delivered.items() if i in committed)
        deleted = {row[0]: float(row[1]) for row in psql(
            f"SELECT item_id, extract(epoch FROM committed_at) FROM changes WHERE kind = 'deleted' AND folder_id = 'inbox' "
            f"AND committed_at >= to_timestamp({t0})")}
        delete_latencies = sorted(deleted[i] - t for i, t in departed.items() if i in deleted)

        def pct(p, values=latencies):
            return round(values[min(len(values) - 1, int(len(values) * p))] * 1000) if values else None

        results["traffic"] = {
            "seconds": round(stop - t0, 1), "changes_committed": committed_changes,
            "delivered": len(delivered), "created_committed": len(latencies),
            "latency_p50_ms": pct(0.50), "latency_p99_ms": pct(0.99),
            "deleted_recorded": len(delete_latencies), "delete_latency_p50_ms": pct(0.50, delete_latencies),
            "delete_latency_p99_ms": pct(0.99, delete_latencies),
            "calls_per_change": {op: round(n / max(1, committed_changes), 3) for op, n in calls.items() if n},
            "cpu_ms_per_change": round(1000 * cpu / max(1, committed_changes), 2),
        }
        converged = 0
        for t in tenants:
            for m in t["mailboxes"]:
                truth = {(i["item_id"], i["change_key"], i["is_read"]) for i in http(f"{sim_url}/_sim/mailboxes/{m}/items?folder=inbox")["items"]}
                rows = psql(f"SELECT i.item_id, i.change_key, i.is_read FROM items i JOIN mailboxes b ON b.id = i.mailbox_id "
                            f"WHERE b.smtp_address = '{m}' AND i.folder_id = 'inbox'")
                ok = truth == {(a, b, c == "t") for a, b, c in rows}
                if SEARCH:
                    name = urllib.parse.quote(SEARCH)
                    truth = {(i["item_id"], i["change_key"], i["is_read"]) for i in http(f"{sim_url}/_sim/mailboxes/{m}/items?folder={name}")["items"]}
                    rows = psql(f"SELECT i.item_id, i.change_key, i.is_read FROM items i JOIN mailboxes b ON b.id = i.mailbox_id "
                                f"WHERE b.smtp_address = '{m}' AND i.folder_id = 'search:{SEARCH}'")
                    ok = ok and truth == {(a, b, c == "t") for a, b, c in rows}
                converged += ok
        # Under a filter the mirror holds the scope, not the folder: the full-folder check does not apply.
        results["mailboxes_converged"] = None if FILTER else converged
    finally:
        fleet.send_signal(signal.SIGTERM)
        fleet.wait(timeout=60)
        sim.send_signal(signal.SIGTERM)
        sim.wait(timeout=30)
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
