#!/usr/bin/env python3
"""Calendar benchmark (issue 13, part 2): what watching calendars costs and how late changes land.

N mailboxes of T tenants watch their calendar (notify mode). Each calendar holds a daily series of
20, a weekly series of 8 and 4 single appointments, in the default window (30 days back, 365 ahead):
  - first round: time until every calendar is mirrored, and the EWS requests it took (ews-sim's
    count, server-side), FindItem (CalendarView) and GetItem;
  - changes at RATE per second, CHANGES in all, each one of: a single appointment renamed (an
    `updated` row), an occurrence moved (an exception: `updated`), an occurrence deleted
    (`deleted`), a meeting request (a create and a modify of a new appointment: one `created`):
    latency from the change to committed_at of its row (p50/p99), calls per committed change,
    ewsfleet's CPU per committed change;
  - at the end, every calendar's mirror against ews-sim's own calendar view.
Run through Benchmarks/calendar.sh, which starts PostgreSQL and builds release binaries.
Only the Python standard library is used.
"""
import json, os, random, signal, subprocess, sys, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
# The same helpers (modes_bench reads BIN and DB from the same argv).
from modes_bench import OPERATIONS, cpu_seconds, http, psql, requests, rss_mib  # noqa: E402

BIN = sys.argv[1]
DB = sys.argv[2]
MAILBOXES = int(os.environ.get("MAILBOXES", "200"))
TENANTS = int(os.environ.get("TENANTS", "2"))
RATE = float(os.environ.get("RATE", "10"))
CHANGES = int(os.environ.get("CHANGES", "600"))
DAY = 86400


def window():
    today = int(time.time()) // DAY * DAY
    return today - 30 * DAY, today + 366 * DAY


def main():
    rng = random.Random(7)
    sim = subprocess.Popen([f"{BIN}/ews-sim", "--tenants", str(TENANTS), "--mailboxes", str(MAILBOXES // TENANTS),
                            "--items-per-mailbox", "0", "--servers", "5", "--heartbeat", "45", "--log-level", "warning"],
                           stdout=subprocess.PIPE, text=True)
    sim_url = json.loads(sim.stdout.readline())["url"]
    env = dict(os.environ, EWSFLEET_DATABASE_URL=DB,
               EWSFLEET_SECRET_KEY=subprocess.run([f"{BIN}/ewsfleet", "secrets", "generate-key"], capture_output=True,
                                                  text=True, check=True).stdout.strip(),
               EWSFLEET_LOG_LEVEL="warning")
    subprocess.run([f"{BIN}/ewsfleet", "db", "migrate"], env=env, check=True, capture_output=True)
    tenants = http(sim_url + "/_sim/tenants")
    today = int(time.time()) // DAY * DAY
    singles, series = {}, {}
    for t in tenants:
        subprocess.run([f"{BIN}/ewsfleet", "tenant", "add", t["name"], "--ews-url", t["ews_url"], "--autodiscover-url",
                        t["autodiscover_url"], "--auth", "basic", "--identity", t["username"], "--secret-env", "PW",
                        "--max-concurrent", "27", "--rate", "100", "--allow-plain-http"],
                       env=dict(env, PW=t["password"]), check=True, capture_output=True)
        addresses = ",".join(f'"{m}"' for m in t["mailboxes"])
        psql(f"INSERT INTO mailboxes (tenant_id, smtp_address, folders) SELECT id, unnest('{{{addresses}}}'::text[]), "
             f"'{{calendar}}'::text[] FROM tenants WHERE name = '{t['name']}'")
        for m in t["mailboxes"]:
            series[m] = [http(sim_url + "/_sim/calendar", {"mailbox": m, "subject": "Standup", "start": today - 5 * DAY + 9 * 3600,
                                                             "every_seconds": DAY, "count": 20})["item_id"],
                         http(sim_url + "/_sim/calendar", {"mailbox": m, "subject": "Planning", "start": today + 10 * 3600,
                                                             "every_seconds": 7 * DAY, "count": 8})["item_id"]]
            singles[m] = [http(sim_url + "/_sim/calendar", {"mailbox": m, "subject": f"Review {i}",
                                                             "start": today + (i + 1) * DAY + 14 * 3600})["item_id"] for i in range(4)]
    mailboxes = [m for t in tenants for m in t["mailboxes"]]
    results = {"mailboxes": MAILBOXES, "tenants": TENANTS, "rate": RATE, "changes": CHANGES}
    log = open("/tmp/calendar-bench-fleet.log", "w")
    fleet = subprocess.Popen([f"{BIN}/ewsfleet", "run", "--instance-id", "calendar-1"], env=env, stdout=log, stderr=log)
    try:
        started = time.time()
        while True:
            synced = int(psql("SELECT count(*) FROM folder_sync WHERE folder_id = 'calendar' AND last_sync_at IS NOT NULL")[0][0])
            streaming = int(psql("SELECT count(*) FROM mailbox_status WHERE state = 'streaming'")[0][0])
            if synced >= MAILBOXES and streaming >= MAILBOXES:
                break
            if time.time() - started > 900:
                raise SystemExit("the first round did not finish in 900 s")
            time.sleep(0.5)
        results["first_round_s"] = round(time.time() - started, 1)
        results["first_round_requests"] = {op: n for op, n in requests(sim_url).items() if n}
        results["entries_mirrored"] = int(psql("SELECT count(*) FROM items WHERE folder_id = 'calendar'")[0][0])

        before, cpu0, t0 = requests(sim_url), cpu_seconds(fleet.pid), time.time()
        start_view, end_view = window()
        expected = []  # (time, item id, kind)
        for n in range(CHANGES):
            due = t0 + n / RATE
            time.sleep(max(0.0, due - time.time()))
            m = rng.choice(mailboxes)
            action = n % 4
            if action == 0 and singles[m]:
                item = rng.choice(singles[m])
                http(sim_url + "/_sim/calendar/rename", {"item_id": item, "subject": f"Review renamed {n}"})
                expected.append((time.time(), item, "updated"))
            elif action in (1, 2):
                entries = [e for e in http(f"{sim_url}/_sim/calendar?mailbox={m}&start={start_view}&end={end_view}")["entries"]
                           if e["calendar_item_type"] == "Occurrence"]
                if not entries:
                    continue
                entry = rng.choice(entries)
                if action == 1:
                    http(sim_url + "/_sim/calendar/move", {"item_id": entry["item_id"], "minutes": 15})
                    expected.append((time.time(), entry["item_id"], "updated"))
                else:
                    http(sim_url + "/_sim/calendar/delete", {"item_id": entry["item_id"]})
                    expected.append((time.time(), entry["item_id"], "deleted"))
            else:
                item = http(sim_url + "/_sim/calendar", {"mailbox": m, "subject": f"Invite {n}", "meeting": True,
                                                         "start": today + 3 * DAY + 11 * 3600})["item_id"]
                singles[m].append(item)
                expected.append((time.time(), item, "created"))
        stop = time.time()
        deadline = stop + 120
        latencies = []
        pending = list(expected)
        while pending and time.time() < deadline:
            still = []
            for at, item, kind in pending:
                rows = psql(f"SELECT extract(epoch FROM min(committed_at)) FROM changes WHERE item_id = '{item}' AND kind = '{kind}' "
                            f"AND committed_at >= to_timestamp({at - 1})")
                if rows and rows[0][0]:
                    latencies.append(float(rows[0][0]) - at)
                else:
                    still.append((at, item, kind))
            pending = still
            if pending:
                time.sleep(1)
        time.sleep(5)
        calls = {op: requests(sim_url)[op] - before[op] for op in OPERATIONS}
        cpu = cpu_seconds(fleet.pid) - cpu0
        committed = int(psql(f"SELECT count(*) FROM changes WHERE committed_at >= to_timestamp({t0})")[0][0])
        latencies.sort()

        def pct(p):
            return round(latencies[min(len(latencies) - 1, int(len(latencies) * p))] * 1000) if latencies else None

        results["traffic"] = {
            "seconds": round(stop - t0, 1), "changes_made": len(expected), "rows_found": len(latencies),
            "rows_missing": len(pending), "changes_committed": committed,
            "latency_p50_ms": pct(0.50), "latency_p99_ms": pct(0.99),
            "calls_per_change": {op: round(n / max(1, committed), 3) for op, n in calls.items() if n},
            "cpu_ms_per_change": round(1000 * cpu / max(1, committed), 2),
            "rss_mib": round(rss_mib(fleet.pid), 1),
        }
        converged = 0
        for m in mailboxes:
            truth = {(e["item_id"], e["change_key"]) for e in
                     http(f"{sim_url}/_sim/calendar?mailbox={m}&start={start_view}&end={end_view}")["entries"]}
            rows = psql(f"SELECT i.item_id, i.change_key FROM items i JOIN mailboxes b ON b.id = i.mailbox_id "
                        f"WHERE b.smtp_address = '{m}' AND i.folder_id = 'calendar'")
            converged += truth == {(a, b) for a, b in rows}
        results["mailboxes_converged"] = converged
    finally:
        fleet.send_signal(signal.SIGTERM)
        fleet.wait(timeout=60)
        sim.send_signal(signal.SIGTERM)
        sim.wait(timeout=30)
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
