#!/usr/bin/env python3
"""The chaos soak (issue 12): the whole system as a user runs it, under random faults, and one verdict.

ews-sim and `ewsfleet run` run as their own processes on a private PostgreSQL. Traffic runs at RATE
events/s for SECONDS while ews-sim injects faults at random (stream drops, subscription expiries,
invalid sync states, throttle windows in both forms, HTTP 503 with Retry-After, stalled streams),
`ewsfleet run` is SIGKILLed and restarted 3 times, PostgreSQL is restarted in immediate mode twice, and
`tenant update` changes a running tenant 3 times (its rate, its subscriptions per connection, or the
spelling of its URL, which makes it subscribe again and sync from scratch).
Then traffic stops, the faults are cleared and the fleet settles (at least the safety-sync interval,
60 s, so a lost notification is healed before the verdict). The summary is judged by oracles ewsfleet
does not write: ews-sim's ground truth (mirror == truth per mailbox), its ledger (the outbox oracle,
Benchmarks/ChaosVerdict), and its own counters (back-off violations, requests in flight at advice).

Run through Benchmarks/chaos.sh. Environment: MAILBOXES (100), TENANTS (2), SECONDS (180), SEED (1),
RATE (30). Only the Python standard library is used.
"""
import json, os, random, re, signal, socket, subprocess, sys, time, urllib.request

BIN, DB, PG_DIR, PG_RESTART = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
MAILBOXES = int(os.environ.get("MAILBOXES", "100"))
TENANTS = int(os.environ.get("TENANTS", "2"))
SECONDS = int(os.environ.get("CHAOS_SECONDS") or os.environ.get("SECONDS", "180"))
SEED = int(os.environ.get("SEED", "1"))
RATE = float(os.environ.get("RATE", "30"))
SAFETY_SECONDS = 60
KILLS, PG_RESTARTS, UPDATES = 3, 2, 3
FAULTS = [
    {"kind": "drop_streams", "rate": 0.2},
    {"kind": "expire_subscriptions", "rate": 0.05},
    {"kind": "invalidate_sync_states", "rate": 0.05},
    {"kind": "throttle", "rate": 0.03, "seconds": 5, "form": "message"},
    {"kind": "throttle", "rate": 0.03, "seconds": 5, "form": "fault"},
    {"kind": "http_503", "fraction": 0.03, "retry_after": 2},
    {"kind": "stall_streams", "rate": 0.02},
]
LAG = "ewsf_backoff_advice_lag"


def log(text):
    print(f"[{time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


def psql(sql):
    out = subprocess.run(["psql", DB, "-tAq", "-F", "\t", "-c", sql], capture_output=True, text=True, check=True)
    return [line.split("\t") for line in out.stdout.splitlines() if line]


def http(url, body=None, method=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method or ("POST" if data else "GET"),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=60) as r:
        return json.load(r)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Fleet:
    """`ewsfleet run`, restartable; keeps the advice-lag histogram of every run it started."""

    def __init__(self, env):
        self.env, self.proc, self.runs, self.lag = env, None, 0, {}
        self.port = None
        self.last_scrape = {}

    def start(self):
        self.runs += 1
        self.port = free_port()
        logf = open(f"/tmp/chaos-fleet-{self.runs}.log", "w")
        # Each run gets its own instance id, as a restarted host would (hostname-pid).
        self.proc = subprocess.Popen([f"{BIN}/ewsfleet", "run", "--instance-id", f"chaos-{SEED}-{self.runs}"],
                                     env=dict(self.env, EWSFLEET_METRICS_PORT=str(self.port)), stdout=logf, stderr=logf)

    def scrape(self):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/metrics", timeout=5) as r:
                text = r.read().decode()
        except Exception:
            return
        buckets = {}
        for match in re.finditer(LAG + r'_bucket\{le="([^"]+)"\} (\d+)', text):
            buckets[match.group(1)] = int(match.group(2))
        self.last_scrape = buckets

    def fold(self):
        """Adds the last scrape of the run that is ending to the totals (a run's counters die with it)."""
        for le, n in self.last_scrape.items():
            self.lag[le] = self.lag.get(le, 0) + n
        self.last_scrape = {}

    def kill(self):
        self.scrape()
        self.fold()
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)

    def stop(self):
        self.scrape()
        self.fold()
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()

    def lag_p99_ms(self):
        """The upper edge of the bucket holding the 99th percentile (cumulative buckets)."""
        total = self.lag.get("+Inf", 0)
        if total == 0:
            return None, 0
        for le in sorted((k for k in self.lag if k != "+Inf"), key=float):
            if self.lag[le] >= 0.99 * total:
                return float(le) * 1000, total
        return float("inf"), total


def mirror_by_mailbox():
    rows = psql("SELECT m.smtp_address, i.item_id, i.change_key, i.is_read FROM items i "
                "JOIN mailboxes m ON m.id = i.mailbox_id WHERE i.folder_id = 'inbox'")
    mirror = {}
    for smtp, item, key, read in rows:
        mirror.setdefault(smtp, set()).add((item, key, read == "t"))
    return mirror


def converged_count(sim_url, mailboxes):
    mirror = mirror_by_mailbox()
    n = 0
    for m in mailboxes:
        truth = {(i["item_id"], i["change_key"], i["is_read"]) for i in http(f"{sim_url}/_sim/mailboxes/{m}/items?folder=inbox")["items"]}
        n += truth == mirror.get(m, set())
    return n


def verdict(sim_url, mailboxes):
    rows = {}
    for smtp, folder, item, kind, read in psql(
            "SELECT m.smtp_address, c.folder_id, c.item_id, c.kind, coalesce(c.is_read::text, '') FROM changes c "
            "JOIN mailboxes m ON m.id = c.mailbox_id ORDER BY c.id"):
        rows.setdefault(smtp, []).append([folder, item, kind, {"true": True, "false": False}.get(read)])
    document = {"folders": {"inbox": "inbox"}, "mailboxes": [
        {"mailbox": m, "truth": {"inbox": http(f"{sim_url}/_sim/mailboxes/{m}/items?folder=inbox")["items"]},
         "ledger": http(f"{sim_url}/_sim/ledger?mailbox={m}"), "rows": rows.get(m, [])} for m in mailboxes]}
    out = subprocess.run([f"{BIN}/chaos-verdict"], input=json.dumps(document), capture_output=True, text=True)
    if out.returncode == 2:
        raise SystemExit(f"chaos-verdict: {out.stderr.strip()}")
    return json.loads(out.stdout)


def update_tenant(env, tenant, rng):
    """One `tenant update` of a running tenant, as an operator would make it; returns its options.
    The URL change respells the same server's URL (the path is case-insensitive, as on IIS)."""
    kind = rng.choice(["rate", "spc", "url"])
    if kind == "rate":
        options = ["--rate", str(rng.choice([15, 25, 40]))]
    elif kind == "spc":
        options = ["--subscriptions-per-connection", str(rng.choice([5, 50, 200]))]
    else:
        url = tenant["ews_url"]
        spelt = url.replace("/EWS/Exchange.asmx", "/ews/exchange.asmx")
        current = psql(f"SELECT ews_url FROM tenants WHERE name = '{tenant['name']}'")[0][0]
        options = ["--ews-url", url if current == spelt else spelt]
    subprocess.run([f"{BIN}/ewsfleet", "tenant", "update", tenant["name"], *options], env=env, check=True,
                   capture_output=True)
    return options


def main():
    rng = random.Random(SEED)
    sim = subprocess.Popen([f"{BIN}/ews-sim", "--tenants", str(TENANTS), "--mailboxes", str(MAILBOXES // TENANTS),
                            "--items-per-mailbox", "5", "--servers", "2", "--seed", str(SEED),
                            "--ledger-limit", "1000000", "--log-level", "error"], stdout=subprocess.PIPE, text=True)
    sim_url = json.loads(sim.stdout.readline())["url"]
    env = dict(os.environ, EWSFLEET_DATABASE_URL=DB, EWSFLEET_LOG_LEVEL="warning",
               EWSFLEET_SYNC_SAFETY_INTERVAL_SECONDS=str(SAFETY_SECONDS),
               EWSFLEET_SECRET_KEY=subprocess.run([f"{BIN}/ewsfleet", "secrets", "generate-key"], capture_output=True,
                                                  text=True, check=True).stdout.strip())
    subprocess.run([f"{BIN}/ewsfleet", "db", "migrate"], env=env, check=True, capture_output=True)
    tenants = http(sim_url + "/_sim/tenants")
    mailboxes = [m for t in tenants for m in t["mailboxes"]]
    for t in tenants:
        subprocess.run([f"{BIN}/ewsfleet", "tenant", "add", t["name"], "--ews-url", t["ews_url"], "--auth", "basic",
                        "--identity", t["username"], "--secret-env", "PW", "--allow-plain-http"],  # ews-sim: http://
                       env=dict(env, PW=t["password"]), check=True, capture_output=True)
        addresses = ",".join(f'"{m}"' for m in t["mailboxes"])
        psql(f"INSERT INTO mailboxes (tenant_id, smtp_address) SELECT id, unnest('{{{addresses}}}'::text[]) "
             f"FROM tenants WHERE name = '{t['name']}'")
    fleet = Fleet(env)
    fleet.start()
    start = time.time()
    while int(psql("SELECT count(*) FROM mailbox_status_now WHERE state = 'streaming'")[0][0]) < len(mailboxes):
        if time.time() - start > 600:
            raise SystemExit("the fleet never had every mailbox streaming")
        time.sleep(0.5)
    log(f"{len(mailboxes)} mailboxes streaming after {time.time() - start:.1f} s; chaos for {SECONDS} s")
    summary = {"seed": SEED, "mailboxes": len(mailboxes), "tenants": TENANTS, "seconds": SECONDS, "rate": RATE}
    try:
        for fault in FAULTS:
            http(sim_url + "/_sim/faults", fault)
        http(sim_url + "/_sim/traffic", {"rate": RATE})
        # Seeded schedule: when ewsfleet is killed (and how long it stays down), when PostgreSQL restarts.
        events = [(rng.uniform(0.1, 0.85) * SECONDS, "kill", rng.uniform(1, 5)) for _ in range(KILLS)]
        events += [(rng.uniform(0.1, 0.85) * SECONDS, "pg", 0) for _ in range(PG_RESTARTS)]
        events += [(rng.uniform(0.1, 0.85) * SECONDS, "update", 0) for _ in range(UPDATES)]
        events.sort()
        updates = []
        chaos_start = time.time()
        for at, what, down in events:
            while time.time() - chaos_start < at:
                fleet.scrape()
                time.sleep(min(2, max(0.05, at - (time.time() - chaos_start))))
            if what == "kill":
                log(f"SIGKILL ewsfleet at {at:.0f} s, down {down:.1f} s")
                fleet.kill()
                time.sleep(down)
                fleet.start()
            elif what == "update":
                t = rng.choice(tenants)
                change = update_tenant(env, t, rng)
                updates.append(change)
                log(f"tenant update {t['name']} {' '.join(change)} at {at:.0f} s")
            else:
                log(f"PostgreSQL restart (immediate) at {at:.0f} s")
                subprocess.run(PG_RESTART.split(), check=True, capture_output=True)
        while time.time() - chaos_start < SECONDS:
            fleet.scrape()
            time.sleep(2)
        http(sim_url + "/_sim/traffic", {"rate": 0})
        http(sim_url + "/_sim/faults", method="DELETE")
        settle_start = time.time()
        log(f"traffic stopped, faults cleared; settling (at least {SAFETY_SECONDS} s)")
        converged = 0
        while True:
            fleet.scrape()
            elapsed = time.time() - settle_start
            if elapsed >= SAFETY_SECONDS + 5:
                converged = converged_count(sim_url, mailboxes)
                if converged == len(mailboxes) or elapsed > SAFETY_SECONDS + 300:
                    break
            time.sleep(5)
        summary["settle_s"] = round(time.time() - settle_start, 1)
        summary["mailboxes_converged"] = converged
        summary["outbox_oracle"] = verdict(sim_url, mailboxes)
        stats = http(sim_url + "/_sim/stats")
        summary["backoff_violations"] = sum(stats.get("backoff_violations", {}).values())
        summary["in_flight_at_advice"] = sum(stats.get("in_flight_at_advice", {}).values())
        summary["changes_recorded"] = int(psql("SELECT count(*) FROM changes")[0][0])
        summary["traffic_actions"] = stats.get("traffic_actions")
        summary["fault_effects"] = stats.get("fault_effects")
        summary["fleet_runs"] = fleet.runs
        summary["tenant_updates"] = [" ".join(u) for u in updates]
        fleet.stop()
        p99, samples = fleet.lag_p99_ms()
        summary["advice_to_pause_lag"] = {"p99_ms_at_most": p99, "advices": samples}
    finally:
        if fleet.proc and fleet.proc.poll() is None:
            fleet.proc.kill()
        sim.send_signal(signal.SIGTERM)
        sim.wait(timeout=30)
    oracle = summary["outbox_oracle"]
    summary["target_met"] = (summary["mailboxes_converged"] == len(mailboxes) and oracle["clean"]
                             and summary["backoff_violations"] == 0)
    print(json.dumps(summary, indent=2))
    return 0 if summary["target_met"] else 1


if __name__ == "__main__":
    sys.exit(main())
