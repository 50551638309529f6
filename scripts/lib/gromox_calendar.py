#!/usr/bin/env python3
"""gromox_calendar.py USER PASSWORD COMMAND ...: a user's calendar as exchangelib (a client nobody
here wrote) reads and changes it on gromox. The oracle of the calendar step of
scripts/conformance-gromox; run it with gromox's venv ($GX_HOME/venv/bin/python).

  create SUBJECT START MINUTES [DAILY_COUNT]   an appointment (a daily series of DAILY_COUNT)
  view START END                               the CalendarView as JSON lines: item_id, changekey, subject, type
  rename SUBJECT NEW_SUBJECT                   rename an appointment (or series)
  delete SUBJECT                               delete an appointment (or series)
START and END are ISO 8601 times in UTC (2026-12-03T09:00:00Z)."""
import datetime, json, os, sys
from exchangelib import BASIC, DELEGATE, Account, Build, CalendarItem, Configuration, Credentials, EWSDateTime, UTC, Version
from exchangelib.recurrence import DailyPattern, Recurrence

user, password, command, *args = sys.argv[1:]
url = os.environ.get("EWS_URL", "http://127.0.0.1:18080/EWS/Exchange.asmx")
config = Configuration(service_endpoint=url, credentials=Credentials(user, password), auth_type=BASIC,
                       version=Version(build=Build(15, 0, 847, 0)))
account = Account(primary_smtp_address=user, config=config, autodiscover=False, access_type=DELEGATE)


def when(text):
    return EWSDateTime.from_datetime(datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))).astimezone(UTC)


def find(subject):
    found = [i for i in account.calendar.filter(subject=subject)]
    if not found:
        sys.exit(f"no appointment with subject {subject!r}")
    return found[0]


if command == "create":
    subject, start, minutes, *count = args
    begins = when(start)
    item = CalendarItem(folder=account.calendar, subject=subject, start=begins,
                        end=begins + datetime.timedelta(minutes=int(minutes)))
    if count:
        item.recurrence = Recurrence(pattern=DailyPattern(interval=1), start=begins.date(), number=int(count[0]))
    item.save()
    print(item.id)
elif command == "view":
    start, end = args
    for it in account.calendar.view(start=when(start), end=when(end)):
        print(json.dumps({"item_id": it.id, "changekey": it.changekey, "subject": it.subject, "type": it.type}))
elif command == "rename":
    subject, new = args
    item = find(subject)
    item.subject = new
    item.save(update_fields=["subject"])
    print("renamed", subject)
elif command == "delete":
    find(args[0]).delete()
    print("deleted", args[0])
else:
    sys.exit(__doc__)
