"""scripts/demo's verdict: each mailbox's mirror of its inbox against ews-sim's ground truth.

Usage: demo_verdict.py TENANTS_JSON MIRROR_TSV CONTROL_URL
  TENANTS_JSON  GET /_sim/tenants (names and mailboxes)
  MIRROR_TSV    smtp_address, item_id, change_key, is_read (t/f) per mirrored inbox item
  CONTROL_URL   ews-sim's control API base, ending in /_sim/
Prints how many mailboxes converged; exits 0 only when every mailbox did (and there was one),
1 otherwise, so a user or a script can trust the demo's exit status.
"""
import json
import sys
import urllib.parse
import urllib.request


def main(tenants_file, mirror_file, control):
    tenants = json.load(open(tenants_file))
    mirror = {}
    for line in open(mirror_file):
        if not line.strip():
            continue
        smtp, item, key, read = line.rstrip("\n").split("\t")
        mirror.setdefault(smtp, set()).add((item, key, read == "t"))
    total = converged = 0
    diverged = []
    for t in tenants:
        for smtp in t["mailboxes"]:
            total += 1
            url = f"{control}mailboxes/{urllib.parse.quote(smtp)}/items?folder=inbox"
            items = json.load(urllib.request.urlopen(url))["items"]
            truth = {(i["item_id"], i["change_key"], i["is_read"]) for i in items}
            if truth == mirror.get(smtp, set()):
                converged += 1
            else:
                diverged.append(smtp)
    print(f"{converged} of {total} mailboxes converged (mirror == ews-sim ground truth)")
    if diverged:
        print("diverged: " + ", ".join(diverged[:10]) + (" ..." if len(diverged) > 10 else ""))
    return 0 if total > 0 and converged == total else 1


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:4]))
