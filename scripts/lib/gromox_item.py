#!/usr/bin/env python3
"""gromox_item.py USER PASSWORD SUBJECT show|categorize CATEGORY...: one inbox item as exchangelib
(a client nobody here wrote) reads it from gromox, as JSON, or set its categories as a user would.
gromox_item.py USER PASSWORD - listing: every inbox item's id, importance, sender and categories
(JSON lines). The oracle of the property-profile and filter steps of scripts/conformance-gromox; run
it with gromox's venv ($GX_HOME/venv/bin/python)."""
import json, os, sys
from exchangelib import BASIC, DELEGATE, Account, Build, Configuration, Credentials, Version

user, password, subject, command, *args = sys.argv[1:]
url = os.environ.get("EWS_URL", "http://127.0.0.1:18080/EWS/Exchange.asmx")
config = Configuration(service_endpoint=url, credentials=Credentials(user, password), auth_type=BASIC,
                       version=Version(build=Build(15, 0, 847, 0)))
account = Account(primary_smtp_address=user, config=config, autodiscover=False, access_type=DELEGATE)
def address(mailbox):
    return mailbox.email_address or mailbox.name if mailbox else None

if command == "listing":
    for it in account.inbox.all().only("id", "importance", "sender", "author", "categories"):
        print(json.dumps({"item_id": it.id, "importance": it.importance, "from": address(it.author or it.sender),
                          "categories": list(it.categories or [])}))
    sys.exit(0)
found = list(account.inbox.filter(subject=subject))
if not found:
    sys.exit(f"no item with subject {subject!r} in inbox")
item = found[0]
if command == "categorize":
    item.categories = list(args)
    item.save(update_fields=["categories"])
    print("categorized", subject)
elif command == "show":
    print(json.dumps({
        "item_id": item.id,
        "internet_message_id": item.message_id,
        "conversation_id": item.conversation_id.id if item.conversation_id else None,
        "from": address(item.author),
        "to": [address(m) for m in item.to_recipients or []],
        "cc": [address(m) for m in item.cc_recipients or []],
        "categories": list(item.categories or []),
        "importance": item.importance,
        "body": str(item.body) if item.body is not None else None,
    }))
else:
    sys.exit(__doc__)
