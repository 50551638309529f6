#!/usr/bin/env python3
"""ewsfleet against a running gromox 3.10 (driven by scripts/conformance-gromox, which builds ewsfleet
and starts a private PostgreSQL). Every check has an oracle ewsfleet does not write: gromox's own
listing of each folder (exchangelib, ../shared/tools/gromox/mailbox.py) and gromox's request log.
Standard library only."""
import argparse
import base64
import email.message
import email.utils
import json
import os
import re
import signal
import smtplib
import struct
import subprocess
import sys
import time
import urllib.request

EWS = "http://127.0.0.1:18080/EWS/Exchange.asmx"
U1, U2 = "user1@example.test", "user2@example.test"
PASSWORDS = {U1: "Gx-pass-1", U2: "Gx-pass-2"}
TENANT = "gx"
INSTANCE = "conformance"
LATENCY_LIMIT = 15.0
SOAP = ('<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" '
        'xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types" '
        'xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages"><soap:Header>'
        '<t:RequestServerVersion Version="Exchange2013_SP1"/>{header}</soap:Header><soap:Body>{body}</soap:Body></soap:Envelope>')


class Failed(Exception):
    pass


def log(message):
    print(time.strftime("%H:%M:%S"), message, flush=True)


def wait_until(what, limit, check, interval=0.25):
    deadline = time.time() + limit
    while True:
        value = check()
        if value:
            return value
        if time.time() > deadline:
            raise Failed(f"timed out after {limit:.0f} s waiting until {what}")
        time.sleep(interval)


def quote(value):
    return "'" + str(value).replace("'", "''") + "'"


def psql(sql):
    out = subprocess.run(["psql", "-X", "-A", "-t", "-F", "\t", "-v", "ON_ERROR_STOP=1", "-c", sql],
                         capture_output=True, text=True)
    if out.returncode != 0:
        raise Failed(f"psql failed: {out.stderr.strip()}")
    return [line.split("\t") for line in out.stdout.splitlines() if line]


def ews(user, body, impersonate=None):
    header = ""
    if impersonate:
        header = (f'<t:ExchangeImpersonation><t:ConnectingSID><t:PrimarySmtpAddress>{impersonate}'
                  '</t:PrimarySmtpAddress></t:ConnectingSID></t:ExchangeImpersonation>')
    request = urllib.request.Request(EWS, data=SOAP.format(header=header, body=body).encode(),
                                     headers={"Content-Type": "text/xml; charset=utf-8"})
    token = base64.b64encode(f"{user}:{PASSWORDS[user]}".encode()).decode()
    request.add_header("Authorization", f"Basic {token}")
    try:
        return urllib.request.urlopen(request, timeout=15).read().decode()
    except OSError as error:
        return f"<unreachable {error}>"


def response_code(text):
    match = re.search(r"<m:ResponseCode>([^<]*)", text)
    return match.group(1) if match else text[:200]


class Gromox:
    def __init__(self, tools):
        self.tools = tools
        self.home = os.environ.get("GX_HOME", "/var/lib/ewsfleet-gromox")
        self.python = os.path.join(self.home, "venv/bin/python")
        self.log = os.path.join(self.home, "logs/http.log")

    def require_running_and_set_up(self):
        inbox = '<m:GetFolder><m:FolderShape><t:BaseShape>IdOnly</t:BaseShape></m:FolderShape><m:FolderIds>' \
                '<t:DistinguishedFolderId Id="inbox"/></m:FolderIds></m:GetFolder>'
        code = response_code(ews(U1, inbox))
        if "401" in code:
            raise Failed(f"gromox refused user1's password (HTTP 401): is it set up ({self.tools}/gromox.sh setup) and is "
                         f"its MariaDB running ({self.tools}/gromox.sh start starts it)? See {self.log}")
        if code != "NoError":
            raise Failed(f"gromox does not answer EWS at {EWS} ({code}): start it with {self.tools}/gromox.sh start")
        code = response_code(ews(U1, inbox, impersonate=U2))
        if code != "NoError":
            raise Failed(f"user1 may not impersonate user2 ({code}): set gromox up with "
                         f"GX_USER1_OWNS_USER2=1 {self.tools}/gromox.sh setup")

    def mailbox(self, user, *args):
        out = subprocess.run([self.python, os.path.join(self.tools, "mailbox.py"), user, PASSWORDS[user], *args],
                             capture_output=True, text=True)
        if out.returncode != 0:
            raise Failed(f"mailbox.py {' '.join(args)}: {out.stderr.strip() or out.stdout.strip()}")
        return out.stdout

    def listing(self, user, folder="inbox"):
        """gromox's own view of a folder: item id -> (is_read, subject)."""
        items = {}
        for line in self.mailbox(user, "list", folder).splitlines():
            item_id, _, read, subject = line.split("\t", 3)
            items[item_id] = (read == "1", subject)
        return items

    def deliver(self, user, count, prefix):
        subprocess.run([sys.executable, os.path.join(self.tools, "deliver.py"), user, str(count), prefix],
                       check=True, capture_output=True)
        return [f"{prefix}-{i}" for i in range(1, count + 1)]

    def requests(self):
        """(time, operation) of every EWS request in http.log."""
        entries = []
        with open(self.log, errors="replace") as f:
            for line in f:
                match = re.match(r"<\d>(\S+) \[ews#\d+\] Processing (\w+)", line)
                if match:
                    entries.append((time.mktime(time.strptime(match.group(1), "%Y-%m-%dT%H:%M:%S")), match.group(2)))
        return entries

    def restart(self):
        subprocess.run([os.path.join(self.tools, "gromox.sh"), "restart"], check=True, capture_output=True)

    def item(self, user, subject, *args):
        """scripts/lib/gromox_item.py: exchangelib's reading of an inbox item (or a user's change)."""
        script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "gromox_item.py")
        out = subprocess.run([self.python, script, user, PASSWORDS[user], subject, *args], capture_output=True, text=True)
        if out.returncode != 0:
            raise Failed(f"gromox_item.py {' '.join(args)}: {out.stderr.strip() or out.stdout.strip()}")
        return out.stdout

    def subscribe_sentitems(self, user):
        body = ('<m:Subscribe><m:StreamingSubscriptionRequest><t:FolderIds><t:DistinguishedFolderId Id="sentitems"/>'
                '</t:FolderIds><t:EventTypes><t:EventType>NewMailEvent</t:EventType></t:EventTypes>'
                '</m:StreamingSubscriptionRequest></m:Subscribe>')
        match = re.search(r"<m:SubscriptionId>([^<]+)", ews(user, body))
        return match.group(1) if match else None


def id_counter(subscription_id):
    """gromox subscription ids are a little-endian counter followed by a lifetime."""
    return struct.unpack("<I", base64.b64decode(subscription_id)[:4])[0]


class Fleet:
    def __init__(self, binary, work):
        self.binary = binary
        self.work = work
        self.process = None
        self.runs = 0
        self.counters = {}

    def cli(self, *args, check=True, env=None):
        out = subprocess.run([self.binary, *args], capture_output=True, text=True, env={**os.environ, **(env or {})})
        if check and out.returncode != 0:
            raise Failed(f"ewsfleet {' '.join(args)} exited {out.returncode}: {out.stderr.strip()}")
        return out

    def start(self):
        self.runs += 1
        output = open(os.path.join(self.work, f"ewsfleet-run-{self.runs}.log"), "w")
        self.process = subprocess.Popen([self.binary, "run", "--instance-id", INSTANCE], stdout=output, stderr=output)
        return time.time()

    def signal(self, sig):
        if sig in (signal.SIGTERM, signal.SIGKILL):
            self.scrape()
        self.process.send_signal(sig)

    def scrape(self):
        """Adds this run's pacing counters to the totals (a restarted process starts from zero)."""
        text = self.metrics()
        for name in ("ewsf_stream_reopens_total", "ewsf_resubscribes_total"):
            for reason, value in re.findall(name + r'\{reason="(\w+)"\} (\d+)', text):
                key = (name, reason)
                self.counters[key] = self.counters.get(key, 0) + int(value)

    def wait_exit(self, limit=20):
        self.process.wait(timeout=limit)
        return self.process.returncode

    def metrics(self):
        port = os.environ["EWSFLEET_METRICS_PORT"]
        try:
            return urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
        except OSError:
            return ""


class Checks:
    """What ewsfleet recorded against what gromox lists."""

    def __init__(self, gromox):
        self.gromox = gromox
        # mailbox -> item ids mirrored by a baseline (the baseline step fills it).
        self.baselined = {}

    @staticmethod
    def states():
        return dict(psql("SELECT m.smtp_address, coalesce(s.state, 'idle') FROM mailboxes m "
                         "LEFT JOIN mailbox_status_now s ON s.mailbox_id = m.id"))

    def all_streaming(self):
        states = self.states()
        return len(states) == 2 and all(state == "streaming" for state in states.values())

    @staticmethod
    def folder_key(mailbox, name):
        if name in ("inbox", "sentitems", "deleteditems"):
            return name
        rows = psql("SELECT f.folder_id FROM folder_sync f JOIN mailboxes m ON m.id = f.mailbox_id "
                    f"WHERE m.smtp_address = {quote(mailbox)} AND f.display_name = {quote(name)}")
        return rows[0][0] if rows else None

    def mirror_matches(self, mailbox, folder):
        truth = self.gromox.listing(mailbox, folder)
        key = self.folder_key(mailbox, folder)
        if key is None:
            return f"{mailbox}/{folder}: not mirrored"
        mirror = {row[0]: row[1] == "t" for row in psql(
            "SELECT i.item_id, i.is_read FROM items i JOIN mailboxes m ON m.id = i.mailbox_id "
            f"WHERE m.smtp_address = {quote(mailbox)} AND i.folder_id = {quote(key)}")}
        missing = set(truth) - set(mirror)
        extra = set(mirror) - set(truth)
        wrong = [i for i in set(truth) & set(mirror) if truth[i][0] != mirror[i]]
        if missing or extra or wrong:
            return f"{mailbox}/{folder}: {len(missing)} missing, {len(extra)} extra, {len(wrong)} with the wrong read state"
        # The outbox: each listed item created exactly once since its last delete, its last row's
        # read state equal to gromox's.
        for item_id, (is_read, subject) in truth.items():
            rows = psql("SELECT kind, coalesce(is_read::text, '') FROM changes c JOIN mailboxes m ON m.id = c.mailbox_id "
                        f"WHERE m.smtp_address = {quote(mailbox)} AND c.item_id = {quote(item_id)} ORDER BY c.txid, c.id")
            kinds = [row[0] for row in rows]
            since_delete = kinds[len(kinds) - kinds[::-1].index("deleted"):] if "deleted" in kinds else kinds
            # An item a baseline (`--start now`) mirrored has no created row, and needs none until
            # it leaves the mirror; its other rows must still end in gromox's read state.
            baselined = item_id in self.baselined.get(mailbox, set()) and "created" not in kinds and "deleted" not in kinds
            if since_delete.count("created") != 1 and not baselined:
                return f"{mailbox}/{folder}: item {subject!r} has {since_delete.count('created')} created rows"
            if rows and rows[-1][1] and (rows[-1][1] == "true") != is_read:
                return f"{mailbox}/{folder}: item {subject!r}: last row says is_read={rows[-1][1]}, gromox {is_read}"
        return None

    @staticmethod
    def committed(mailbox, kind, subject=None, item_id=None, is_read=None, after=0.0):
        """When the first matching change row was committed (epoch seconds), or None."""
        condition = [f"m.smtp_address = {quote(mailbox)}", f"c.kind = {quote(kind)}",
                     f"c.committed_at >= to_timestamp({after})"]
        if subject is not None:
            condition.append(f"c.properties->>'subject' = {quote(subject)}")
        if item_id is not None:
            condition.append(f"c.item_id = {quote(item_id)}")
        if is_read is not None:
            condition.append(f"c.is_read = {'true' if is_read else 'false'}")
        rows = psql("SELECT extract(epoch FROM min(c.committed_at)) FROM changes c JOIN mailboxes m ON m.id = c.mailbox_id "
                    f"WHERE {' AND '.join(condition)}")
        return float(rows[0][0]) if rows and rows[0][0] else None


class Conformance:
    def __init__(self, args):
        self.gromox = Gromox(args.gromox_tools)
        self.fleet = Fleet(args.ewsfleet, args.work)
        self.checks = Checks(self.gromox)
        self.results = []
        self.latencies = []
        self.stamp = time.strftime("%H%M%S")

    # -- helpers -----------------------------------------------------------------------------------

    def arrived(self, what, mailbox, kind, since, limit=LATENCY_LIMIT, **match):
        """Waits for a change row; records and checks its latency from `since`."""
        at = wait_until(f"{what} reaches changes", 60,
                        lambda: self.checks.committed(mailbox, kind, after=since - 1, **match))
        latency = at - since
        self.latencies.append((what, latency))
        if latency > limit:
            raise Failed(f"{what} took {latency:.1f} s (limit {limit:.0f} s)")
        return latency

    def verify_mirrors(self, folders):
        """The mirror and the outbox of each folder against gromox's listing (given a little time:
        a change can be on its way)."""
        for mailbox, folder in folders:
            problem = [None]

            def matches():
                problem[0] = self.checks.mirror_matches(mailbox, folder)
                return problem[0] is None
            try:
                wait_until(f"{mailbox}/{folder} matches gromox", 30, matches, interval=1)
            except Failed:
                raise Failed(problem[0])

    def step(self, name, body):
        log(f"== {name}")
        started = time.time()
        try:
            detail = body() or ""
            self.results.append((name, "ok", f"{time.time() - started:.0f} s; {detail}"))
            log(f"   ok: {detail}")
        except Failed as failure:
            self.results.append((name, "FAILED", str(failure)))
            log(f"   FAILED: {failure}")

    # -- steps -------------------------------------------------------------------------------------

    def setup(self):
        self.gromox.require_running_and_set_up()
        self.fleet.cli("db", "migrate")
        # gromox listens on plain http:// here, which the tenant must allow explicitly.
        self.fleet.cli("tenant", "add", TENANT, "--ews-url", EWS, "--auth", "basic", "--identity", U1,
                       "--secret-env", "GX_PASS", "--allow-plain-http", env={"GX_PASS": PASSWORDS[U1]})

    def tenant_test(self):
        out = self.fleet.cli("tenant", "test", TENANT, U1, U2, "--format", "json", check=False)
        steps = {s["step"]: (s["result"], s["detail"]) for s in json.loads(out.stdout or "[]")}
        log("   " + json.dumps(steps))
        if out.returncode != 0:
            raise Failed(f"exit {out.returncode}: {out.stderr.strip()}")
        if steps.get("stream", ("",))[0] != "ok":
            raise Failed(f"stream step: {steps.get('stream')}")
        if steps.get("grouped_stream", ("",))[0] != "warning":
            raise Failed(f"expected the grouped stream to be refused with a warning: {steps.get('grouped_stream')}")
        return "every step ok; grouped_stream: warning (gromox binds subscriptions to the impersonated user)"

    def start_fleet(self):
        self.fleet.cli("mailbox", "add", TENANT, U1)
        self.fleet.cli("mailbox", "add", TENANT, U2, "--all-folders")
        self.fleet.start()
        wait_until("both mailboxes stream", 90, self.checks.all_streaming)
        grouping = psql(f"SELECT grouping, coalesce(grouping_reason, '') FROM tenants WHERE name = {quote(TENANT)}")[0]
        self.verify_mirrors([(U1, "inbox"), (U2, "inbox")])
        return f"both streaming; tenant grouping {grouping[0]} ({grouping[1]})"

    def new_mail(self):
        since = time.time()
        subjects1 = self.gromox.deliver(U1, 3, f"conf-{self.stamp}")
        subjects2 = self.gromox.deliver(U2, 2, f"conf2-{self.stamp}")
        worst = max([self.arrived(s, U1, "created", since, subject=s) for s in subjects1]
                    + [self.arrived(s, U2, "created", since, subject=s) for s in subjects2])
        self.verify_mirrors([(U1, "inbox"), (U2, "inbox")])
        return f"5 mails, slowest {worst:.1f} s"

    def item_id(self, mailbox, subject, folder="inbox"):
        for item_id, (_, item_subject) in self.gromox.listing(mailbox, folder).items():
            if item_subject == subject:
                return item_id
        raise Failed(f"{subject} not in gromox's {folder} of {mailbox}")

    def read_unread(self):
        subject = f"conf-{self.stamp}-1"
        item = self.item_id(U1, subject)
        since = time.time()
        self.gromox.mailbox(U1, "read", subject)
        read = self.arrived("read", U1, "read_flag", since, item_id=item, is_read=True)
        since = time.time()
        self.gromox.mailbox(U1, "unread", subject)
        unread = self.arrived("unread", U1, "read_flag", since, item_id=item, is_read=False)
        self.verify_mirrors([(U1, "inbox")])
        return f"read_flag rows: read {read:.1f} s, unread {unread:.1f} s"

    def move_out(self):
        if "Archive" not in self.gromox.mailbox(U1, "folders"):
            self.gromox.mailbox(U1, "mkfolder", "Archive")
        subject = f"conf-{self.stamp}-2"
        item = self.item_id(U1, subject)
        since = time.time()
        self.gromox.mailbox(U1, "move", subject, "Archive")
        latency = self.arrived("move out", U1, "deleted", since, item_id=item)
        self.verify_mirrors([(U1, "inbox")])
        return f"deleted row in inbox after {latency:.1f} s"

    def delete(self):
        subject = f"conf-{self.stamp}-3"
        item = self.item_id(U1, subject)
        since = time.time()
        self.gromox.mailbox(U1, "delete", subject)
        latency = self.arrived("delete", U1, "deleted", since, item_id=item)
        self.verify_mirrors([(U1, "inbox")])
        return f"deleted row after {latency:.1f} s"

    def new_folder(self):
        name = f"Conf{self.stamp}"
        since = time.time()
        self.gromox.mailbox(U2, "mkfolder", name)
        subject = f"conf2-{self.stamp}-1"
        self.gromox.mailbox(U2, "move", subject, name)
        latency = self.arrived(f"mail moved into {name}", U2, "created", since, subject=subject)
        wait_until(f"{name} is mirrored", 30, lambda: self.checks.folder_key(U2, name))
        self.verify_mirrors([(U2, "inbox"), (U2, name)])
        return f"{name} discovered, its mail created after {latency:.1f} s"

    def tenant_update(self):
        """`tenant update` reaches the running tenant without a restart of ewsfleet. A throttling
        change restarts it warm (new streams, no Subscribe in gromox's log); a wrong secret makes
        gromox refuse it, and the right one brings back the mail that arrived meanwhile; a new URL
        (the same server spelt `localhost`) makes every mailbox subscribe again and sync from
        scratch, with nothing recorded twice (the mirrors and outbox against gromox's listing)."""
        mark = len(self.gromox.requests())
        self.fleet.cli("tenant", "update", TENANT, "--rate", "25")
        wait_until("the streams reopen under the new policy", 30,
                   lambda: sum(1 for _, op in self.gromox.requests()[mark:] if op == "GetStreamingEvents") >= 2)
        since = time.time()
        s = self.gromox.deliver(U1, 1, f"after-rate-{self.stamp}")[0]
        warm = self.arrived(s, U1, "created", since, subject=s)
        subscribes = sum(1 for _, op in self.gromox.requests()[mark:] if op == "Subscribe")
        if subscribes:
            raise Failed(f"{subscribes} Subscribe after a throttling change (subscriptions must be kept)")

        self.fleet.cli("tenant", "update", TENANT, "--secret-env", "GX_PASS", env={"GX_PASS": "not-the-password"})
        wait_until("gromox refuses the wrong secret", 60, lambda: int(psql(
            "SELECT count(*) FROM mailbox_status WHERE consecutive_failures > 0")[0][0]) == 2)
        subjects = self.gromox.deliver(U1, 2, f"wrong-secret-{self.stamp}")
        fixed = time.time()
        self.fleet.cli("tenant", "update", TENANT, "--secret-env", "GX_PASS", env={"GX_PASS": PASSWORDS[U1]})
        recovered = max(self.arrived(s, U1, "created", fixed, subject=s) for s in subjects)
        wait_until("both mailboxes stream again", 60, self.checks.all_streaming)

        mark = len(self.gromox.requests())
        before = int(psql("SELECT count(*) FROM changes")[0][0])
        self.fleet.cli("tenant", "update", TENANT, "--ews-url", EWS.replace("127.0.0.1", "localhost"))
        wait_until("both mailboxes subscribe again", 60,
                   lambda: sum(1 for _, op in self.gromox.requests()[mark:] if op == "Subscribe") >= 2)
        wait_until("both mailboxes stream again", 60, self.checks.all_streaming)
        self.verify_mirrors([(U1, "inbox"), (U2, "inbox")])
        after = int(psql("SELECT count(*) FROM changes")[0][0])
        if after != before:
            raise Failed(f"the resync after a URL change recorded {after - before} changes; nothing had changed")
        since = time.time()
        s = self.gromox.deliver(U2, 1, f"after-url-{self.stamp}")[0]
        moved = self.arrived(s, U2, "created", since, subject=s)
        return (f"rate: warm restart, 0 Subscribe, new mail {warm:.1f} s; wrong secret refused, 2 mails sent "
                f"meanwhile committed {recovered:.1f} s after the fix; new URL: resubscribed, resynced with "
                f"0 changes recorded twice, new mail {moved:.1f} s")

    def mailbox_update(self):
        """`mailbox update` on the running fleet: user1 watches Sent Items too (what it holds and what
        moves in later are mirrored, checked against gromox's listing), then stops watching it with
        --purge (each of its items leaves with a `deleted` row)."""
        mark = len(self.gromox.requests())
        self.fleet.cli("mailbox", "update", TENANT, U1, "--add-folder", "sentitems")
        wait_until("user1 subscribes again, naming both folders", 60,
                   lambda: sum(1 for _, op in self.gromox.requests()[mark:] if op == "Subscribe") >= 1)
        wait_until("both mailboxes stream", 60, self.checks.all_streaming)
        subject = self.gromox.deliver(U1, 1, f"to-sent-{self.stamp}")[0]
        since = time.time()
        self.gromox.mailbox(U1, "move", subject, "sentitems")
        latency = self.arrived("mail moved into sentitems", U1, "created", since, subject=subject)
        self.verify_mirrors([(U1, "inbox"), (U1, "sentitems")])
        held = len(self.gromox.listing(U1, "sentitems"))
        self.fleet.cli("mailbox", "update", TENANT, U1, "--remove-folder", "sentitems", "--purge")
        deleted = int(psql("SELECT count(*) FROM changes c JOIN mailboxes m ON m.id = c.mailbox_id "
                           f"WHERE m.smtp_address = {quote(U1)} AND c.folder_id = 'sentitems' AND c.kind = 'deleted'")[0][0])
        left = int(psql("SELECT count(*) FROM items i JOIN mailboxes m ON m.id = i.mailbox_id "
                        f"WHERE m.smtp_address = {quote(U1)} AND i.folder_id = 'sentitems'")[0][0])
        if deleted != held or left:
            raise Failed(f"purge: {deleted} deleted rows for {held} items in gromox's sentitems, {left} mirror rows left")
        wait_until("both mailboxes stream", 60, self.checks.all_streaming)
        self.verify_mirrors([(U1, "inbox")])
        return f"sentitems added: its mail created after {latency:.1f} s, mirror matches; purged: {deleted} deleted rows"

    def sync_only(self):
        """The tenant switched to sync-only on the running fleet: no Subscribe and no
        GetStreamingEvents reach gromox (its own log), and new mail still lands within a poll
        interval; then back to notifications."""
        self.fleet.cli("tenant", "update", TENANT, "--mode", "sync-only", "--poll-interval", "10s")
        wait_until("both mailboxes are scheduled", 60,
                   lambda: sorted(self.checks.states().values()) in (["scheduled", "scheduled"], ["scheduled", "syncing"],
                                                                    ["syncing", "syncing"]))
        time.sleep(2)  # streams of the old runtime close; what gromox logs from here on is sync-only
        mark = len(self.gromox.requests())
        since = time.time()
        subjects = self.gromox.deliver(U1, 2, f"polled-{self.stamp}")
        worst = max(self.arrived(s, U1, "created", since, limit=30, subject=s) for s in subjects)
        self.verify_mirrors([(U1, "inbox"), (U2, "inbox")])
        operations = [op for _, op in self.gromox.requests()[mark:]]
        streaming = [op for op in operations if op in ("Subscribe", "GetStreamingEvents", "Unsubscribe")]
        if streaming:
            raise Failed(f"sync-only sent {len(streaming)} streaming requests: {sorted(set(streaming))}")
        syncs = operations.count("SyncFolderItems")
        if not syncs:
            raise Failed("sync-only sent no SyncFolderItems")
        self.fleet.cli("tenant", "update", TENANT, "--mode", "notify")
        wait_until("both mailboxes stream again", 90, self.checks.all_streaming)
        return f"2 mails polled in {worst:.1f} s (interval 10 s), {syncs} SyncFolderItems and 0 streaming requests; back to notify"

    def server_restart(self):
        stored = {row[0]: row[1] for row in psql("SELECT m.smtp_address, s.subscription_id FROM subscriptions s "
                                                 "JOIN mailboxes m ON m.id = s.mailbox_id")}
        highest = max(id_counter(i) for i in stored.values())
        # ewsfleet is held (SIGSTOP) while gromox restarts and other subscriptions of user1 take
        # every id ewsfleet has stored: after the restart the counter starts again at 1.
        self.fleet.signal(signal.SIGSTOP)
        try:
            self.gromox.restart()
            taken = []
            # gromox numbers subscriptions from 1 after a restart: taking id N takes N subscribes.
            # The steps before (mode and folder changes) subscribe often, so N can pass 50.
            while not taken or id_counter(taken[-1]) < highest:
                new = self.gromox.subscribe_sentitems(U1)
                if new is None or len(taken) > 500:
                    raise Failed(f"could not take the stored ids (up to {highest}) with other subscriptions")
                taken.append(new)
            mark = len(self.gromox.requests())
        finally:
            self.fleet.signal(signal.SIGCONT)
        resumed = time.time()
        stolen = sorted(set(stored.values()) & set(taken))
        log(f"   stored ids {stored}; other subscriptions now hold {stolen}")

        def replaced():
            rows = psql("SELECT count(*) FROM subscriptions WHERE created_at > "
                        f"to_timestamp({resumed - 0.5})")
            return int(rows[0][0]) == 2 and self.checks.all_streaming()
        wait_until("every mailbox has a new subscription and streams", 60, replaced)
        recovered = time.time() - resumed
        since = time.time()
        s1 = self.gromox.deliver(U1, 1, f"after-restart-{self.stamp}")[0]
        s2 = self.gromox.deliver(U2, 1, f"after-restart2-{self.stamp}")[0]
        worst = max(self.arrived(s1, U1, "created", since, subject=s1), self.arrived(s2, U2, "created", since, subject=s2))
        time.sleep(max(0, resumed + 60 - time.time()))
        # Everything after the other subscriptions was ewsfleet's (deliveries go through LMTP).
        first_minute = [op for at, op in self.gromox.requests()[mark:] if at <= resumed + 60]
        # The target is 10 requests per mailbox; losing nothing also takes one catch-up
        # SyncFolderItems per watched folder, which an all-folders mailbox has many of: those
        # beyond each mailbox's first are allowed on top.
        folders = int(psql("SELECT count(*) FROM folder_sync WHERE folder_id <> '#hierarchy'")[0][0])
        allowed = 10 * 2 + max(0, folders - 2)
        per_mailbox = len(first_minute) / 2
        if len(first_minute) > allowed:
            raise Failed(f"{len(first_minute)} EWS requests in the first minute after the restart "
                         f"(allowed {allowed}: 10 per mailbox plus a catch-up of {folders - 2} more folders): {first_minute}")
        self.verify_mirrors([(U1, "inbox"), (U2, "inbox")])
        return (f"{len(stolen)} stored ids taken by other subscriptions; every mailbox hearing again after "
                f"{recovered:.1f} s; new mail {worst:.1f} s; {len(first_minute)} requests in the first minute "
                f"({per_mailbox:.1f} per mailbox; allowed {allowed} for 2 mailboxes watching {folders} folders): "
                f"{summary(first_minute)}")

    def sigterm_and_restart(self):
        self.fleet.signal(signal.SIGTERM)
        code = self.fleet.wait_exit()
        if code != 0:
            raise Failed(f"ewsfleet run exited {code} on SIGTERM")
        left = psql(f"SELECT count(*) FROM mailbox_status WHERE instance_id = {quote(INSTANCE)} AND state <> 'idle'")
        if int(left[0][0]) != 0:
            raise Failed(f"{left[0][0]} mailboxes still not idle after a clean SIGTERM")
        status = self.fleet.cli("status", "--tenant", TENANT, "--format", "json").stdout
        subjects = self.gromox.deliver(U1, 2, f"while-down-{self.stamp}")
        started = self.fleet.start()
        worst = max(self.arrived(s, U1, "created", started, subject=s) for s in subjects)
        wait_until("both mailboxes stream again", 60, self.checks.all_streaming)
        since = time.time()
        s = self.gromox.deliver(U1, 1, f"after-sigterm-{self.stamp}")[0]
        latest = self.arrived(s, U1, "created", since, subject=s)
        self.verify_mirrors([(U1, "inbox"), (U2, "inbox")])
        idle = '"idle"' in status
        return (f"idle after SIGTERM (status shows idle: {idle}); 2 mails delivered while down committed "
                f"{worst:.1f} s after the restart; new mail {latest:.1f} s")

    def sigkill_mid_burst(self):
        prefix = f"burst-{self.stamp}"
        burst = subprocess.Popen([sys.executable, os.path.join(self.gromox.tools, "deliver.py"), U1, "200", prefix],
                                 stdout=subprocess.DEVNULL)
        count_sql = ("SELECT count(*) FROM changes c JOIN mailboxes m ON m.id = c.mailbox_id "
                     f"WHERE m.smtp_address = {quote(U1)} AND c.kind = 'created' AND c.properties->>'subject' LIKE {quote(prefix + '-%')}")
        # A page of up to 512 changes commits as one transaction after its GetItem batches (10
        # items each): kill while those are being fetched, i.e. mid-sync, before the commit.
        mark = len(self.gromox.requests())
        wait_until("the burst is being synced", 90,
                   lambda: sum(1 for _, op in self.gromox.requests()[mark:] if op == "GetItem") >= 3, interval=0.02)
        self.fleet.signal(signal.SIGKILL)
        self.fleet.wait_exit()
        at_kill = int(psql(count_sql)[0][0])
        burst.wait(timeout=300)
        self.fleet.start()
        wait_until("all 200 mails are committed", 180, lambda: int(psql(count_sql)[0][0]) >= 200)
        duplicates = psql("SELECT c.item_id, count(*) FROM changes c JOIN mailboxes m ON m.id = c.mailbox_id "
                          f"WHERE m.smtp_address = {quote(U1)} AND c.properties->>'subject' LIKE {quote(prefix + '-%')} "
                          "AND c.kind = 'created' GROUP BY 1 HAVING count(*) > 1")
        if duplicates:
            raise Failed(f"{len(duplicates)} items created twice")
        listed = [s for _, s in self.gromox.listing(U1).values() if s.startswith(prefix + "-")]
        if len(listed) != 200 or len(set(listed)) != 200:
            raise Failed(f"gromox lists {len(listed)} burst mails ({len(set(listed))} distinct)")
        self.verify_mirrors([(U1, "inbox")])
        wait_until("both mailboxes stream again", 60, self.checks.all_streaming)
        return f"killed with {at_kill} of 200 committed; after the restart all 200 exactly once"

    def baseline(self):
        """`--start now` against gromox: user1 is watched again from scratch as a baseline. Its
        mirror must equal gromox's listing (ids and read states) with no `created` row and no
        GetItem in gromox's log; mail delivered afterwards is recorded."""
        self.fleet.cli("mailbox", "remove", TENANT, U1, "--purge")
        mark = len(self.gromox.requests())
        self.fleet.cli("mailbox", "add", TENANT, U1, "--start", "now")
        wait_until("both mailboxes stream", 90, self.checks.all_streaming)
        truth = self.gromox.listing(U1, "inbox")
        self.checks.baselined[U1] = set(truth)

        def mirrored():
            rows = psql("SELECT i.item_id, i.is_read FROM items i JOIN mailboxes m ON m.id = i.mailbox_id "
                        f"WHERE m.smtp_address = {quote(U1)} AND i.folder_id = 'inbox'")
            return {row[0]: row[1] == "t" for row in rows} == {item: read for item, (read, _) in truth.items()}
        wait_until("user1's mirror equals gromox's inbox", 60, mirrored, interval=1)
        rows = int(psql("SELECT count(*) FROM changes c JOIN mailboxes m ON m.id = c.mailbox_id "
                        f"WHERE m.smtp_address = {quote(U1)}")[0][0])
        fetched = sum(1 for _, op in self.gromox.requests()[mark:] if op == "GetItem")
        if rows or fetched:
            raise Failed(f"the baseline recorded {rows} changes and sent {fetched} GetItem for {len(truth)} items")
        since = time.time()
        subject = self.gromox.deliver(U1, 1, f"after-baseline-{self.stamp}")[0]
        latency = self.arrived("mail after the baseline", U1, "created", since, subject=subject)
        return f"{len(truth)} items mirrored with 0 GetItem and 0 changes; new mail created after {latency:.1f} s"

    def ignore(self):
        """`mailbox ignore` against gromox: the ignored item's read and unread are not recorded
        (gromox honours SyncFolderItems' Ignore) while new mail beside it is; off the list, the
        next read is."""
        subject = f"after-baseline-{self.stamp}-1"
        item = self.item_id(U1, subject)
        self.fleet.cli("mailbox", "ignore", TENANT, U1, item)
        since = time.time()
        self.gromox.mailbox(U1, "read", subject)
        self.gromox.mailbox(U1, "unread", subject)  # back to what the mirror holds
        other = self.gromox.deliver(U1, 1, f"beside-ignored-{self.stamp}")[0]
        self.arrived("mail beside the ignored item", U1, "created", since, subject=other)
        time.sleep(2)  # the sync that brought it saw the read too
        recorded = self.checks.committed(U1, "read_flag", item_id=item, after=since - 1) \
            or self.checks.committed(U1, "updated", item_id=item, after=since - 1)
        if recorded:
            raise Failed("the read changes of an ignored item were recorded")
        self.fleet.cli("mailbox", "ignore", TENANT, U1, item, "--remove")
        since = time.time()
        self.gromox.mailbox(U1, "read", subject)
        latency = self.arrived("read after the ignore list", U1, "read_flag", since, item_id=item, is_read=True)
        return f"read and unread of the ignored item not recorded; off the list, a read recorded after {latency:.1f} s"

    def property_profile(self):
        """`tenant update --properties extended,body_preview` on the running fleet: a mail with Cc,
        high importance and a long multi-line body, delivered over LMTP, then categorized by a user.
        Oracles: the headers and body this step sent, and exchangelib's reading of the item from
        gromox (conversation id, importance, categories). The preview is the body's whitespace
        folded to single spaces, at most 255 characters; the mirror keeps no preview."""
        self.fleet.cli("tenant", "update", TENANT, "--properties", "extended,body_preview")
        probe_with_profile = None
        for n in range(1, 31):
            since = time.time()
            probe = self.gromox.deliver(U1, 1, f"profile-probe-{self.stamp}-{n}")[0]
            self.arrived("profile probe", U1, "created", since, subject=probe)
            if psql("SELECT count(*) FROM changes WHERE kind = 'created' AND properties->>'subject' = "
                    f"{quote(probe)} AND properties ? 'importance'")[0][0] != "0":
                probe_with_profile = n
                break
        if probe_with_profile is None:
            raise Failed("30 mails later the new profile had not reached the running tenant")
        subject = f"profile-{self.stamp}"
        message_id = f"<profile-{self.stamp}@example.org>"
        body = ("Hello team,\n\n   the figures for Q3 are attached.\tPlease review them before Friday.\n\n"
                + "Numbers, café notes and a long tail of text follow. " * 12 + "\n-- \nAnn")
        m = email.message.EmailMessage()
        m["From"], m["To"], m["Cc"] = "Ann Sender <ann@example.org>", U1, "cc1@example.org, Carl <cc2@example.org>"
        m["Subject"], m["Message-ID"], m["Date"] = subject, message_id, email.utils.formatdate(localtime=True)
        m["Importance"], m["X-Priority"] = "high", "1"
        m.set_content(body)
        since = time.time()
        with smtplib.LMTP("127.0.0.1", 10024) as lmtp:
            lmtp.send_message(m, from_addr="ann@example.org", to_addrs=[U1])
        latency = self.arrived("mail with the extended profile", U1, "created", since, subject=subject)
        row = psql("SELECT properties::text FROM changes WHERE kind = 'created' AND properties->>'subject' = "
                   f"{quote(subject)}")
        got = json.loads(row[0][0])
        seen = json.loads(self.gromox.item(U1, subject, "show"))
        preview = " ".join(body.split())[:255].rstrip(" ")
        expected = {
            "internet_message_id": message_id, "from": "ann@example.org", "to": [U1],
            "cc": ["cc1@example.org", "cc2@example.org"], "importance": seen["importance"],
            "conversation_id": seen["conversation_id"], "body_preview": preview,
        }
        wrong = {k: (got.get(k), v) for k, v in expected.items() if got.get(k) != v}
        if got.get("categories", []) != seen["categories"]:
            wrong["categories"] = (got.get("categories"), seen["categories"])
        if seen["importance"] != "High":
            wrong["importance (gromox)"] = (seen["importance"], "High")
        if wrong:
            raise Failed(f"properties differ from what was sent and what gromox holds (got, expected): {wrong}")
        since = time.time()
        self.gromox.item(U1, subject, "categorize", "Vendor", "Follow-up")
        self.arrived("categories set by a user", U1, "updated", since, item_id=seen["item_id"])
        updated = json.loads(psql("SELECT properties::text FROM changes WHERE kind = 'updated' AND item_id = "
                                  f"{quote(seen['item_id'])} ORDER BY id DESC LIMIT 1")[0][0])
        if updated.get("categories") != ["Vendor", "Follow-up"]:
            raise Failed(f"the update carries categories {updated.get('categories')}, not the user's")
        leaked = int(psql("SELECT count(*) FROM items WHERE properties ? 'body_preview'")[0][0])
        if leaked:
            raise Failed(f"{leaked} mirror rows hold a body preview")
        mark = len(self.gromox.requests())
        self.fleet.cli("tenant", "update", TENANT, "--properties", "default")
        # The quiet window comes next: let the warm restart of the reload finish first.
        wait_until("the streams reopen under the default profile", 30,
                   lambda: sum(1 for _, op in self.gromox.requests()[mark:] if op == "GetStreamingEvents") >= 2)
        return (f"profile live after {probe_with_profile} probe mail(s); created after {latency:.1f} s with message id, "
                f"from, to, cc, importance, conversation id and a {len(preview)}-character preview as sent and as "
                f"exchangelib reads them; a user's categories arrive as an update")

    def send(self, sender, subject, importance=None):
        m = email.message.EmailMessage()
        m["From"], m["To"], m["Subject"] = sender, U1, subject
        m["Message-ID"], m["Date"] = email.utils.make_msgid(domain="example.org"), email.utils.formatdate(localtime=True)
        if importance:
            m["Importance"] = importance
        m.set_content(f"body of {subject}\n")
        with smtplib.LMTP("127.0.0.1", 10024) as lmtp:
            lmtp.send_message(m, from_addr="conformance@example.org", to_addrs=[U1])

    def filtered_scope(self):
        """`mailbox update --filter 'importance:high or from-domain:vendor.example'` on user1 (watched,
        its inbox mirrored): the folder is scoped again (what falls outside leaves with a `deleted`
        row), new mail is recorded only inside the scope, and `--filter none` brings everything back.
        Oracle: exchangelib's listing of the inbox (importance and sender of every item), judged by
        this script; gromox's request log counts ewsfleet's FindItem (taken before the oracle, whose
        exchangelib listing sends FindItem too, runs again)."""
        def expected():
            scope = set()
            for line in self.gromox.item(U1, "-", "listing").splitlines():
                it = json.loads(line)
                sender = (it["from"] or "").lower()
                domain = sender.rsplit("@", 1)[-1]
                if it["importance"] == "High" or domain == "vendor.example" or domain.endswith(".vendor.example"):
                    scope.add(it["item_id"])
            return scope

        def mirror():
            return {row[0] for row in psql("SELECT i.item_id FROM items i JOIN mailboxes m ON m.id = i.mailbox_id "
                                           f"WHERE m.smtp_address = {quote(U1)} AND i.folder_id = 'inbox'")}
        before = mirror()
        scope_before = expected()
        mark = len(self.gromox.requests())
        since = time.time()
        self.fleet.cli("mailbox", "update", TENANT, U1, "--filter", "importance:high or from-domain:vendor.example")
        tag = f"scope-{self.stamp}"
        self.send("Ann <ann@mail.vendor.example>", f"{tag}-domain")
        self.send("Bob <bob@other.example>", f"{tag}-high", importance="high")
        self.send("Carl <carl@other.example>", f"{tag}-outside")
        for subject in (f"{tag}-domain", f"{tag}-high"):
            self.arrived(f"{subject} in the scope", U1, "created", since, subject=subject, limit=60)
        problem = [None]

        def scoped():
            # Without the oracle (so that gromox's log counts ewsfleet's FindItem only): the scope
            # listed before, plus the two new mails inside it, found by subject.
            new = {row[0] for row in psql(
                "SELECT i.item_id FROM items i JOIN mailboxes m ON m.id = i.mailbox_id "
                f"WHERE m.smtp_address = {quote(U1)} AND i.subject IN ({quote(tag + '-domain')}, {quote(tag + '-high')})")}
            want, have = scope_before | new, mirror()
            problem[0] = f"mirror has {len(have - want)} items outside the scope and lacks {len(want - have)} inside"
            return len(new) == 2 and want == have
        try:
            wait_until("user1's mirror is the scope", 90, scoped, interval=2)
        except Failed:
            raise Failed(problem[0])
        finds = sum(1 for _, op in self.gromox.requests()[mark:] if op == "FindItem")
        scope = expected()
        if scope != mirror():
            raise Failed("the mirror is not the scope gromox's listing gives")
        deleted = {row[0] for row in psql("SELECT c.item_id FROM changes c JOIN mailboxes m ON m.id = c.mailbox_id "
                                          f"WHERE m.smtp_address = {quote(U1)} AND c.kind = 'deleted' "
                                          f"AND c.committed_at >= to_timestamp({since - 1})")}
        if deleted != before - scope:
            raise Failed(f"{len(deleted)} deleted rows for {len(before - scope)} items that left the scope")
        if self.checks.committed(U1, "created", subject=f"{tag}-outside", after=since - 1):
            raise Failed("mail outside the scope was recorded")
        since = time.time()
        self.fleet.cli("mailbox", "update", TENANT, U1, "--filter", "none")
        self.arrived("mail outside the old scope, after --filter none", U1, "created", since, subject=f"{tag}-outside",
                     limit=120)
        self.verify_mirrors([(U1, "inbox")])
        return (f"{len(before)} mirrored items scoped to {len(scope)} ({len(deleted)} deleted rows) with {finds} FindItem; "
                f"2 of 3 new mails recorded; --filter none brought back everything")

    @staticmethod
    def folders_under(parent):
        """user1's child folders of `parent` (a FolderId or DistinguishedFolderId element), as gromox
        lists them: (element, id, display name)."""
        body = ('<m:FindFolder Traversal="Shallow"><m:FolderShape><t:BaseShape>Default</t:BaseShape></m:FolderShape>'
                '<m:IndexedPageFolderView MaxEntriesReturned="1000" Offset="0" BasePoint="Beginning"/>'
                f'<m:ParentFolderIds>{parent}</m:ParentFolderIds></m:FindFolder>')
        return re.findall(r'<t:(\w*Folder)><t:FolderId Id="([^"]+)"[^>]*/>.*?<t:DisplayName>([^<]*)', ews(U1, body))

    def search_folder(self):
        """`--folder search:NAME` against a real server: user1 gets a search folder made with EWS
        CreateFolder in gromox's search root "Finder" (gromox 3.10 knows no `searchfolders` id, and
        its CreateFolder keeps no SearchParameters, so the folder stays empty: its content cannot be
        defined through EWS). ewsfleet must find it by its display name, subscribe naming it, list it
        with FindItem (never SyncFolderItems) and mirror what gromox's own FindItem lists; then it is
        unwatched (--purge) and deleted."""
        name = f"ewsfleet search {self.stamp}"
        finder = [f for f in self.folders_under('<t:DistinguishedFolderId Id="root"/>') if f[2] == "Finder"]
        if not finder:
            raise Failed("gromox lists no Finder folder under user1's root")
        create = (f'<m:CreateFolder><m:ParentFolderId><t:FolderId Id="{finder[0][1]}"/></m:ParentFolderId><m:Folders>'
                  f'<t:SearchFolder><t:DisplayName>{name}</t:DisplayName></t:SearchFolder></m:Folders></m:CreateFolder>')
        created = re.search(r'<t:SearchFolder><t:FolderId Id="([^"]+)"', ews(U1, create))
        if not created:
            raise Failed("gromox did not create the search folder")
        folder_id = created.group(1)
        key = f"search:{name}"
        mark = len(self.gromox.requests())
        try:
            self.fleet.cli("mailbox", "update", TENANT, U1, "--add-folder", key)
            wait_until("user1's search folder is listed", 60, lambda: psql(
                "SELECT 1 FROM folder_sync f JOIN mailboxes m ON m.id = f.mailbox_id "
                f"WHERE m.smtp_address = {quote(U1)} AND f.folder_id = {quote(key)} AND f.last_sync_at IS NOT NULL"))
            wait_until("both mailboxes stream", 60, self.checks.all_streaming)
            operations = [op for _, op in self.gromox.requests()[mark:]]
            for needed in ("FindFolder", "Subscribe", "FindItem"):
                if needed not in operations:
                    raise Failed(f"no {needed} reached gromox ({summary(operations)})")
            ids_row = psql("SELECT f.ews_folder_id FROM folder_sync f JOIN mailboxes m ON m.id = f.mailbox_id "
                           f"WHERE m.smtp_address = {quote(U1)} AND f.folder_id = {quote(key)}")
            if not ids_row or ids_row[0][0] != folder_id:
                raise Failed(f"ewsfleet resolved {name!r} to {ids_row}, gromox made {folder_id}")
            listing = ('<m:FindItem Traversal="Shallow"><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape></m:ItemShape>'
                       '<m:IndexedPageItemView MaxEntriesReturned="1000" Offset="0" BasePoint="Beginning"/>'
                       f'<m:ParentFolderIds><t:FolderId Id="{folder_id}"/></m:ParentFolderIds></m:FindItem>')
            truth = set(re.findall(r'<t:ItemId Id="([^"]+)"', ews(U1, listing)))
            mirror = {row[0] for row in psql("SELECT i.item_id FROM items i JOIN mailboxes m ON m.id = i.mailbox_id "
                                             f"WHERE m.smtp_address = {quote(U1)} AND i.folder_id = {quote(key)}")}
            if truth != mirror:
                raise Failed(f"search folder mirror {len(mirror)} items, gromox lists {len(truth)}")
            errors = psql("SELECT coalesce(s.last_error_code, '') FROM mailbox_status s JOIN mailboxes m ON m.id = s.mailbox_id "
                          f"WHERE m.smtp_address = {quote(U1)}")
            if errors and errors[0][0]:
                raise Failed(f"user1's status has an error: {errors[0][0]}")
            self.verify_mirrors([(U1, "inbox")])
            return (f"found by name under Finder, resolved to gromox's id, subscribed, listed: gromox's own FindItem "
                    f"{len(truth)} items, mirror {len(mirror)}; requests {summary(operations)}")
        finally:
            self.fleet.cli("mailbox", "update", TENANT, U1, "--remove-folder", key, "--purge", check=False)
            ews(U1, f'<m:DeleteFolder DeleteType="HardDelete"><m:FolderIds><t:FolderId Id="{folder_id}"/></m:FolderIds>'
                    '</m:DeleteFolder>')

    def calendar_tool(self, *args):
        """scripts/lib/gromox_calendar.py: exchangelib's reading (and a user's changes) of user1's calendar."""
        script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "gromox_calendar.py")
        out = subprocess.run([self.gromox.python, script, U1, PASSWORDS[U1], *args], capture_output=True, text=True)
        if out.returncode != 0:
            raise Failed(f"gromox_calendar.py {' '.join(args)}: {out.stderr.strip() or out.stdout.strip()}")
        return out.stdout

    def calendar_matches(self):
        """ewsfleet's calendar mirror against exchangelib's CalendarView over the same window (the
        default, 30 days back to 365 ahead in whole UTC days): None, or what differs."""
        start = time.strftime("%Y-%m-%dT00:00:00Z", time.gmtime(time.time() - 30 * 86400))
        end = time.strftime("%Y-%m-%dT00:00:00Z", time.gmtime(time.time() + 366 * 86400))
        truth = {}
        for line in self.calendar_tool("view", start, end).splitlines():
            entry = json.loads(line)
            truth[entry["item_id"]] = (entry["changekey"], entry["type"])
        mirror = {row[0]: (row[1], row[2]) for row in psql(
            "SELECT i.item_id, i.change_key, coalesce(i.properties->>'calendar_item_type', '') FROM items i "
            f"JOIN mailboxes m ON m.id = i.mailbox_id WHERE m.smtp_address = {quote(U1)} AND i.folder_id = 'calendar'")}
        if truth != mirror:
            return f"calendar mirror {len(mirror)} entries, exchangelib's view {len(truth)}; differing: " \
                   f"{len(set(truth.items()) ^ set(mirror.items()))}"
        return None

    def calendar(self):
        """`--folder calendar` against a real server: user1's calendar gets an appointment and a daily
        series through exchangelib; ewsfleet must view it with CalendarView (never SyncFolderItems)
        and mirror what exchangelib's own CalendarView lists (gromox 3.10 does not expand series: a
        series is one RecurringMaster); a rename and a delete must land as updated and deleted rows."""
        day = time.strftime("%Y-%m-%dT", time.gmtime(time.time() + 86400))
        single, series = f"cal-{self.stamp}", f"cal-series-{self.stamp}"
        self.calendar_tool("create", single, day + "10:00:00Z", "60")
        self.calendar_tool("create", series, day + "09:00:00Z", "30", "5")
        mark = len(self.gromox.requests())
        try:
            self.fleet.cli("mailbox", "update", TENANT, U1, "--add-folder", "calendar")
            problem = [None]

            def matches():
                problem[0] = self.calendar_matches()
                return problem[0] is None
            try:
                wait_until("user1's calendar matches exchangelib's view", 90, matches, interval=1)
            except Failed:
                raise Failed(problem[0])
            wait_until("both mailboxes stream", 60, self.checks.all_streaming)
            entries = len(psql(f"SELECT 1 FROM items i JOIN mailboxes m ON m.id = i.mailbox_id WHERE m.smtp_address = {quote(U1)} "
                               "AND i.folder_id = 'calendar'"))
            single_id = psql(f"SELECT i.item_id FROM items i JOIN mailboxes m ON m.id = i.mailbox_id WHERE m.smtp_address = {quote(U1)} "
                             f"AND i.folder_id = 'calendar' AND i.subject = {quote(single)}")[0][0]
            since = time.time()
            self.calendar_tool("rename", single, single + "-renamed")
            renamed = self.arrived("appointment renamed", U1, "updated", since, item_id=single_id)
            since = time.time()
            self.calendar_tool("delete", single + "-renamed")
            deleted = self.arrived("appointment deleted", U1, "deleted", since, item_id=single_id)
            try:
                wait_until("user1's calendar matches exchangelib's view", 30, matches, interval=1)
            except Failed:
                raise Failed(problem[0])
            operations = [op for _, op in self.gromox.requests()[mark:]]
            if "FindItem" not in operations:
                raise Failed(f"no FindItem reached gromox ({summary(operations)})")
            return (f"{entries} entries mirrored as exchangelib's CalendarView lists them; renamed after {renamed:.1f} s, "
                    f"deleted after {deleted:.1f} s; requests {summary(operations)}")
        finally:
            self.fleet.cli("mailbox", "update", TENANT, U1, "--remove-folder", "calendar", "--purge", check=False)
            for subject in (single + "-renamed", single, series):
                subprocess.run([self.gromox.python, os.path.join(os.path.dirname(os.path.abspath(__file__)), "gromox_calendar.py"),
                                U1, PASSWORDS[U1], "delete", subject], capture_output=True)

    def quiet_window(self, seconds=120):
        start = time.time()
        time.sleep(seconds)
        requests = [op for at, op in self.gromox.requests() if start <= at <= start + seconds]
        per_minute = len(requests) / 2 / (seconds / 60)
        if per_minute > 1:
            raise Failed(f"{len(requests)} requests in {seconds} s of quiet ({per_minute:.2f} per mailbox per minute)")
        return f"{len(requests)} requests in {seconds} s without changes ({per_minute:.2f} per mailbox per minute)"

    def run(self):
        log("== setup")
        self.setup()
        # CONFORMANCE_STEPS=search_folder,baseline runs the start and only those steps (for work on
        # one step; a full run is what counts).
        only = [name for name in os.environ.get("CONFORMANCE_STEPS", "").split(",") if name]
        if only:
            self.step("start: both mailboxes streaming, mirrors match", self.start_fleet)
            for name in only:
                self.step(name, getattr(self, name))
            return self.report()
        self.step("tenant test with two mailboxes", self.tenant_test)
        self.step("start: both mailboxes streaming, mirrors match", self.start_fleet)
        self.step("new mail", self.new_mail)
        self.step("read and unread", self.read_unread)
        self.step("move out of inbox", self.move_out)
        self.step("delete", self.delete)
        self.step("new folder in all-folders mode", self.new_folder)
        self.step("tenant update while running: rate, secret, URL", self.tenant_update)
        self.step("mailbox update while running: add and purge a folder", self.mailbox_update)
        self.step("sync-only mode while running, and back", self.sync_only)
        self.step("server restart; other subscriptions take the stored ids", self.server_restart)
        self.step("SIGTERM and restart of ewsfleet", self.sigterm_and_restart)
        self.step("SIGKILL during a 200-mail burst", self.sigkill_mid_burst)
        self.step("baseline: mailbox add --start now", self.baseline)
        self.step("mailbox ignore", self.ignore)
        self.step("property profile: extended,body_preview", self.property_profile)
        self.step("filtered scope: mailbox update --filter", self.filtered_scope)
        self.step("search folder: --folder search:NAME", self.search_folder)
        self.step("calendar: --folder calendar", self.calendar)
        self.step("quiet window", self.quiet_window)
        return self.report()

    def report(self):
        self.fleet.signal(signal.SIGTERM)
        self.fleet.wait_exit()
        print()
        print("| step | result | detail |")
        print("|---|---|---|")
        for name, result, detail in self.results:
            print(f"| {name} | {result} | {detail} |")
        print()
        print("latencies (s): " + ", ".join(f"{what} {value:.1f}" for what, value in self.latencies))
        counters = ", ".join(f"{name}{{reason={reason}}} {value}" for (name, reason), value in sorted(self.fleet.counters.items()))
        print(f"ewsfleet's pacing counters, all runs: {counters or 'none'}")
        failed = [r for r in self.results if r[1] != "ok"]
        print(f"{len(self.results) - len(failed)} of {len(self.results)} steps passed")
        return 1 if failed else 0


def summary(operations):
    counts = {}
    for op in operations:
        counts[op] = counts.get(op, 0) + 1
    return ", ".join(f"{op} {n}" for op, n in sorted(counts.items()))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--ewsfleet", required=True)
    parser.add_argument("--gromox-tools", required=True)
    parser.add_argument("--work", required=True)
    args = parser.parse_args()
    try:
        sys.exit(Conformance(args).run())
    except Failed as failure:
        log(f"conformance-gromox: {failure}")
        sys.exit(1)


if __name__ == "__main__":
    main()
