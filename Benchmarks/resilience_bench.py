#!/usr/bin/env python3
"""Resilience benchmarks (issue 11): ewsfleet and ews-sim as their own processes, counted by ews-sim.

  storm    three tenants of MAILBOXES mailboxes stream healthily; then each tenant's server turns
           bad in its own way for MINUTES minutes (every stream ends at once with OK; every stream
           brings Success messages with empty lists, then Closed; every subscription id is refused).
           ews-sim's per-mailbox request counters (an oracle ewsfleet does not write) give, per
           mailbox: requests in the first minute, and the most in any whole minute after the fifth.
           Targets: at most 10, and at most 1.
  restart  MAILBOXES mailboxes of one identity (default request rate, 20/s) stream; ews-sim
           restarts (every subscription lost; in the gromox dialect the id counter starts again,
           so old ids come back as other mailboxes' subscriptions). Measures the time until every
           mailbox has a new subscription that a live connection carries (hearing again; target:
           within one minute for up to 500 mailboxes), until every catch-up sync is done, then
           delivers a mail to each and checks every one arrives (ground truth).
Run through Benchmarks/resilience.sh storm|restart (PostgreSQL, release binaries).
Only the Python standard library is used.
"""
import json, os, signal, subprocess, sys, time, urllib.request

MODE, BIN, DB = sys.argv[1], sys.argv[2], sys.argv[3]
MAILBOXES = int(os.environ.get("MAILBOXES", "50" if MODE == "storm" else "500"))
MINUTES = int(os.environ.get("MINUTES", "7"))
DIALECT = os.environ.get("DIALECT", "gromox")
IMPERSONATION = os.environ.get("IMPERSONATION", "off")


def psql(sql):
    out = subprocess.run(["psql", DB, "-tAq", "-F", "|", "-c", sql], capture_output=True, text=True, check=True)
    return [line.split("|") for line in out.stdout.splitlines() if line]


def http(url, body=None, method=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method or ("POST" if data else "GET"),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=60) as r:
        return json.load(r)


def count_state(state):
    return int(psql(f"SELECT count(*) FROM mailbox_status_now WHERE state = '{state}'")[0][0])


def wait(what, check, limit):
    start = time.time()
    while not check():
        if time.time() - start > limit:
            raise SystemExit(f"timed out after {limit} s waiting until {what}")
        time.sleep(0.25)
    return time.time() - start


class Setup:
    def __init__(self, tenants, mailboxes, dialect):
        self.sim = subprocess.Popen([f"{BIN}/ews-sim", "--tenants", str(tenants), "--mailboxes", str(mailboxes),
                                     "--items-per-mailbox", "3", "--servers", "1", "--heartbeat", "45",
                                     "--dialect", dialect, "--max-hanging-connections", "0", "--log-level", "warning"],
                                    stdout=subprocess.PIPE, text=True)
        self.url = json.loads(self.sim.stdout.readline())["url"]
        key = subprocess.run([f"{BIN}/ewsfleet", "secrets", "generate-key"], capture_output=True, text=True, check=True)
        self.env = dict(os.environ, EWSFLEET_DATABASE_URL=DB, EWSFLEET_SECRET_KEY=key.stdout.strip(),
                        EWSFLEET_LOG_LEVEL="warning")
        subprocess.run([f"{BIN}/ewsfleet", "db", "migrate"], env=self.env, check=True, capture_output=True)
        self.tenants = http(self.url + "/_sim/tenants")
        for t in self.tenants:
            # Default throttling policy (request rate 20/s): the pacing under test is the real one.
            subprocess.run([f"{BIN}/ewsfleet", "tenant", "add", t["name"], "--ews-url", t["ews_url"], "--auth", "basic",
                            "--identity", t["username"], "--secret-env", "PW", "--hanging-connections", "1000",
                            "--allow-plain-http",  # ews-sim serves plain http://
                            "--impersonation" if IMPERSONATION == "on" else "--no-impersonation"],
                           env=dict(self.env, PW=t["password"]), check=True, capture_output=True)
            addresses = ",".join(f'"{m}"' for m in t["mailboxes"])
            psql(f"INSERT INTO mailboxes (tenant_id, smtp_address) SELECT id, unnest('{{{addresses}}}'::text[]) "
                 f"FROM tenants WHERE name = '{t['name']}'")
        log = open(f"/tmp/resilience-{MODE}.log", "w")
        self.fleet = subprocess.Popen([f"{BIN}/ewsfleet", "run", "--instance-id", MODE], env=self.env, stdout=log, stderr=log)
        self.total = sum(len(t["mailboxes"]) for t in self.tenants)
        self.cold_start = wait("every mailbox streams", lambda: count_state("streaming") >= self.total, 600)

    def counts(self):
        return http(self.url + "/_sim/stats")["requests_by_mailbox"]

    def stop(self):
        self.fleet.send_signal(signal.SIGTERM)
        self.fleet.wait(timeout=60)
        self.sim.send_signal(signal.SIGTERM)
        self.sim.wait(timeout=30)


def requests_of(counts, mailbox):
    return sum(counts.get(mailbox, {}).values())


def storm():
    faults = [("close_at_once_with_ok", {"kind": "end_streams", "form": "ok"}),
              ("empty_lists_then_closed", {"kind": "end_streams", "form": "empty_lists", "count": 2, "then": "closed"}),
              ("refuse_every_id", {"kind": "refuse_subscriptions"})]
    s = Setup(len(faults), MAILBOXES, DIALECT)
    try:
        time.sleep(35)  # a healthy stretch: connections become healthy
        snapshots = [(time.time(), s.counts())]
        for (name, fault), tenant in zip(faults, s.tenants):
            http(s.url + "/_sim/faults", dict(fault, tenant=tenant["name"]))
            if fault["kind"] == "refuse_subscriptions":
                # The open connections end (with Closed), so every reopen meets the refusal.
                http(s.url + "/_sim/faults", {"kind": "drop_streams", "tenant": tenant["name"]})
        start = time.time()
        for minute in range(1, MINUTES + 1):
            time.sleep(max(0, start + 60 * minute - time.time()))
            snapshots.append((time.time(), s.counts()))
        results = {"mode": "storm", "dialect": DIALECT, "impersonation": IMPERSONATION,
                   "mailboxes_per_pattern": MAILBOXES, "minutes": MINUTES}
        for (name, _), tenant in zip(faults, s.tenants):
            per_minute = []
            for (_, a), (_, b) in zip(snapshots, snapshots[1:]):
                per_minute.append(max(requests_of(b, m) - requests_of(a, m) for m in tenant["mailboxes"]))
            states = psql(f"SELECT s.state, count(*) FROM mailbox_status_now s JOIN mailboxes m ON m.id = s.mailbox_id "
                          f"JOIN tenants t ON t.id = m.tenant_id WHERE t.name = '{tenant['name']}' GROUP BY 1")
            results[name] = {"max_per_mailbox_by_minute": per_minute, "first_minute_max": per_minute[0],
                             "after_5_minutes_max": max(per_minute[5:]) if len(per_minute) > 5 else None,
                             "status": {state: int(n) for state, n in states}}
        print(json.dumps(results, indent=2))
    finally:
        s.stop()


def restart():
    s = Setup(1, MAILBOXES, DIALECT)
    try:
        tenant = s.tenants[0]
        before = s.counts()
        t0 = time.time()
        restarted = http(s.url + "/_sim/restart", {"tenant": tenant["name"]})

        # Hearing again: a new subscription that a live connection has carried (its row's
        # last_heartbeat_at is reset when it is saved and set by the first message on a connection).
        def hearing_again():
            return int(psql(f"SELECT count(*) FROM subscriptions WHERE created_at > to_timestamp({t0}) "
                            "AND last_heartbeat_at >= created_at")[0][0]) >= s.total
        hearing = wait("every mailbox has a new subscription on a live connection", hearing_again, 300)
        caught_up = wait("every mailbox streams (catch-up syncs done)", lambda: count_state("streaming") >= s.total, 300)
        t1 = time.time()
        delivered = []
        for m in tenant["mailboxes"]:
            delivered += http(s.url + "/_sim/deliver", {"mailbox": m, "count": 1})["item_ids"]
        ids = ",".join(f"'{i}'" for i in delivered)
        arrived = wait("every new mail is committed", lambda: int(psql(
            f"SELECT count(DISTINCT item_id) FROM changes WHERE kind = 'created' AND item_id IN ({ids})")[0][0]) == len(delivered), 300)
        after = s.counts()
        first_minute = sorted(requests_of(after, m) - requests_of(before, m) for m in tenant["mailboxes"])
        converged = 0
        for m in tenant["mailboxes"]:
            truth = {(i["item_id"], i["is_read"]) for i in http(f"{s.url}/_sim/mailboxes/{m}/items?folder=inbox")["items"]}
            rows = psql(f"SELECT i.item_id, i.is_read FROM items i JOIN mailboxes b ON b.id = i.mailbox_id "
                        f"WHERE b.smtp_address = '{m}' AND i.folder_id = 'inbox'")
            converged += truth == {(a, c == "t") for a, c in rows}
        duplicates = int(psql(f"SELECT count(*) FROM (SELECT item_id FROM changes WHERE kind = 'created' "
                              f"AND item_id IN ({ids}) GROUP BY item_id HAVING count(*) > 1) d")[0][0])
        print(json.dumps({"mode": "restart", "dialect": DIALECT, "impersonation": IMPERSONATION, "mailboxes": MAILBOXES,
                          "cold_start_s": round(s.cold_start, 1), "subscriptions_dropped": restarted["subscriptions_dropped"],
                          "every_mailbox_hearing_again_s": round(hearing, 1),
                          "every_mailbox_caught_up_s": round(hearing + caught_up, 1),
                          "new_mail_all_committed_s": round(arrived, 1), "created_twice": duplicates,
                          "requests_per_mailbox_restart_to_end": {"median": first_minute[len(first_minute) // 2],
                                                                  "max": first_minute[-1]},
                          "elapsed_s": round(t1 - t0 + arrived, 1), "mailboxes_converged": converged}, indent=2))
    finally:
        s.stop()


if __name__ == "__main__":
    {"storm": storm, "restart": restart}[MODE]()
