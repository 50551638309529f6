#!/usr/bin/env python3
"""Baseline benchmark (issue 13): one tenant of MAILBOXES mailboxes with ITEMS items each, imported
with `--start START`; the time from `ewsfleet run` until every mailbox's inbox has completed its
first sync (its mirror equal to ews-sim's ground truth), and the EWS calls made meanwhile, counted
by ews-sim. Run through Benchmarks/baseline.sh. Only the Python standard library is used."""
import json, os, signal, subprocess, sys, time, urllib.request

BIN, DB = sys.argv[1], sys.argv[2]
START = os.environ.get("START", "now")
MAILBOXES = int(os.environ.get("MAILBOXES", "100"))
ITEMS = int(os.environ.get("ITEMS", "2000"))
RATE = os.environ.get("RATE", "20")


def psql(sql):
    out = subprocess.run(["psql", DB, "-tAq", "-F", "|", "-c", sql], capture_output=True, text=True, check=True)
    return [line.split("|") for line in out.stdout.splitlines() if line]


def http(url):
    with urllib.request.urlopen(url, timeout=120) as r:
        return json.load(r)


def main():
    sim = subprocess.Popen([f"{BIN}/ews-sim", "--tenants", "1", "--mailboxes", str(MAILBOXES), "--items-per-mailbox",
                            str(ITEMS), "--servers", "2", "--log-level", "warning"], stdout=subprocess.PIPE, text=True)
    sim_url = json.loads(sim.stdout.readline())["url"]
    env = dict(os.environ, EWSFLEET_DATABASE_URL=DB, EWSFLEET_LOG_LEVEL="warning",
               EWSFLEET_SECRET_KEY=subprocess.run([f"{BIN}/ewsfleet", "secrets", "generate-key"], capture_output=True,
                                                  text=True, check=True).stdout.strip())
    subprocess.run([f"{BIN}/ewsfleet", "db", "migrate"], env=env, check=True, capture_output=True)
    tenant = http(sim_url + "/_sim/tenants")[0]
    subprocess.run([f"{BIN}/ewsfleet", "tenant", "add", tenant["name"], "--ews-url", tenant["ews_url"], "--auth", "basic",
                    "--identity", tenant["username"], "--secret-env", "PW", "--rate", RATE, "--allow-plain-http"],
                   env=dict(env, PW=tenant["password"]), check=True, capture_output=True)
    csv = "".join(f"{tenant['name']},{m},\n" for m in tenant["mailboxes"])
    t = time.time()
    subprocess.run([f"{BIN}/ewsfleet", "mailbox", "import", "-", "--start", START], input=csv, text=True, env=env,
                   check=True, capture_output=True)
    import_s = time.time() - t
    inbox_items = sum(len(http(f"{sim_url}/_sim/mailboxes/{m}/items?folder=inbox")["items"]) for m in tenant["mailboxes"])
    before = http(sim_url + "/_sim/stats")["requests_by_tenant"].get(tenant["name"], {})
    log = open(f"/tmp/baseline-bench-{START}.log", "w")
    fleet = subprocess.Popen([f"{BIN}/ewsfleet", "run", "--instance-id", f"baseline-{START}"], env=env, stdout=log, stderr=log)
    started = time.time()
    try:
        while True:
            done = int(psql("SELECT count(*) FROM folder_sync WHERE folder_id = 'inbox' AND sync_state <> '' AND NOT baselining")[0][0])
            mirrored = int(psql("SELECT count(*) FROM items")[0][0])
            if done >= MAILBOXES and mirrored >= inbox_items:
                break
            if time.time() - started > 3600:
                raise SystemExit("not done after an hour")
            time.sleep(1)
        elapsed = time.time() - started
        after = http(sim_url + "/_sim/stats")["requests_by_tenant"].get(tenant["name"], {})
        calls = {op: after.get(op, 0) - before.get(op, 0) for op in ("SyncFolderItems", "GetItem", "Subscribe", "GetFolder")}
        changes = int(psql("SELECT count(*) FROM changes")[0][0])
        print(json.dumps({"start": START, "mailboxes": MAILBOXES, "items_per_mailbox": ITEMS, "inbox_items": inbox_items,
                          "rate_per_s": float(RATE), "import_s": round(import_s, 2),
                          "run_to_all_synced_s": round(elapsed, 1), "calls": calls, "changes_rows": changes,
                          "mirror_rows": mirrored}, indent=2))
    finally:
        fleet.send_signal(signal.SIGTERM)
        fleet.wait(timeout=60)
        sim.send_signal(signal.SIGTERM)
        sim.wait(timeout=30)


if __name__ == "__main__":
    main()
