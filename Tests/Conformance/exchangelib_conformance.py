#!/usr/bin/env python3
"""Drive ews-sim with exchangelib 5.6.0 (pinned), as issue 5 asks:
version detection -> GetFolder inbox -> subscribe -> stream -> new mail arrives -> NewMailEvent seen
-> sync_items with the kept state sees exactly the new item -> fetch by id + change key -> unsubscribe.

Usage: exchangelib_conformance.py BASE_URL [TENANT_INDEX]
Prints one JSON line with the steps that passed; exits non-zero on the first failure.
"""
import json
import logging
import sys
import urllib.request

import exchangelib
from exchangelib import IMPERSONATION, Account, Configuration, Credentials
from exchangelib.properties import NewMailEvent


def control(base, method, path, body=None):
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(base + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def main():
    base = sys.argv[1].rstrip("/")
    tenant_index = int(sys.argv[2]) if len(sys.argv) > 2 else 0
    if "--debug" in sys.argv:
        logging.basicConfig(level=logging.DEBUG)
    assert exchangelib.__version__ == "5.6.0", exchangelib.__version__
    steps = []
    with urllib.request.urlopen(base + "/_sim/tenants", timeout=30) as response:
        tenant = json.loads(response.read())[tenant_index]
    mailbox = tenant["mailboxes"][0]

    # Autodiscover off, Basic auth discovered by probing WWW-Authenticate, version guessed (ConvertId).
    config = Configuration(service_endpoint=tenant["ews_url"],
                           credentials=Credentials(tenant["username"], tenant["password"]))
    account = Account(primary_smtp_address=mailbox, config=config, autodiscover=False, access_type=IMPERSONATION)
    version = account.version
    assert version.build is not None and version.build.major_version == 15, version
    steps.append("version:%s" % version.api_version)
    assert config.auth_type == "basic", config.auth_type
    steps.append("auth:basic")

    inbox = account.inbox
    assert inbox.name, inbox
    steps.append("getfolder:%s" % inbox.name)

    # Initial sync to get a state to keep.
    initial = list(inbox.sync_items())
    kept_state = inbox.item_sync_state
    truth = control(base, "GET", "/_sim/mailboxes/%s/items?folder=inbox" % mailbox)["items"]
    assert len(initial) == len(truth), (len(initial), len(truth))
    steps.append("initialsync:%d" % len(initial))

    subscription_id = inbox.subscribe_to_streaming()
    steps.append("subscribe")

    # New mail arrives while the subscription is detached; it is queued and streamed on connect.
    delivered = control(base, "POST", "/_sim/deliver", {"mailbox": mailbox, "count": 1})["item_ids"][0]
    new_mail = None
    for notification in inbox.get_streaming_events(subscription_id, connection_timeout=1, max_notifications_returned=1):
        for event in notification.events:
            if isinstance(event, NewMailEvent):
                new_mail = event
    assert new_mail is not None, "no NewMailEvent"
    assert new_mail.item_id.id == delivered, (new_mail.item_id.id, delivered)
    steps.append("newmail")

    inbox.item_sync_state = kept_state
    changes = list(inbox.sync_items())
    assert len(changes) == 1, changes
    change_type, item = changes[0]
    assert change_type == "create", change_type
    assert item.id == delivered, (item.id, delivered)
    steps.append("sync:create")

    fetched = list(account.fetch(ids=[(item.id, item.changekey)]))
    assert len(fetched) == 1 and not isinstance(fetched[0], Exception), fetched
    truth = {row["item_id"]: row for row in control(base, "GET", "/_sim/mailboxes/%s/items?folder=inbox" % mailbox)["items"]}
    assert fetched[0].subject == truth[delivered]["subject"], (fetched[0].subject, truth[delivered])
    assert fetched[0].changekey == truth[delivered]["change_key"]
    steps.append("fetch")

    inbox.unsubscribe(subscription_id)
    steps.append("unsubscribe")
    print(json.dumps({"ok": True, "steps": steps}))


if __name__ == "__main__":
    main()
