# Sending one outbox file to Tempest (picometer/outbox.py has the contract and the folders):
# loaded by Outbox.send_one for the call and unloaded after it, so that between a day's upload
# and the next (a day apart, once the backlog is empty) this code holds no heap.

import time

from micropython import const

from picometer.outbox import _REASON

PERMANENT = (400, 413, 422)
DAYS_ROUTES = ("api/v1/days", "update")
_BASE_MS = const(60000)


def _valid_name(name, serial):
    # <serial>_<YYYY-MM-DD>.json: the only names the Ticker puts in the outbox.
    if not (name.startswith(serial + "_") and name.endswith(".json")):
        return False
    day = name[len(serial) + 1:-5]
    return len(day) == 10 and day[4] == "-" and day[7] == "-" and (
        day[:4] + day[5:7] + day[8:]).isdigit()


def _succeeded(box):
    box.failures = 0
    box.last_error = None
    box.next_ms = time.ticks_ms()


def send_one(box, stamp):
    """Deliver the oldest outbox file. Returns "sent", "rejected", "retry" or None (empty).
    `stamp` is the time as ISO text for reason files."""
    names = box.pending()
    box.count = len(names)
    if not names:
        return None
    name = names[0]
    src = box.folder("outbox") + "/" + name
    if not _valid_name(name, box.serial):
        _reject(box, name, {"status": None, "reason": "%r is not a day file name of this "
                            "meter (<serial>_<YYYY-MM-DD>.json)" % name,
                            "checked_by": "meter"}, stamp)
        return "rejected"
    try:
        length = box.fs.size(src)
        answer = _post(box, src, length)
    except OSError as e:
        return _failed(box, "cannot reach Tempest: %s" % (e,))
    status = answer.status
    if 200 <= status < 300:
        box.fs.rename(src, box.folder("sent") + "/" + name)
        box.count -= 1
        box.sent += 1
        _succeeded(box)
        box.prune("sent", box.sent_keep)
        return "sent"
    body = answer.json()
    reason = _reason(status, body)
    if status in PERMANENT:
        _reject(box, name, {"status": status, "reason": reason,
                            "body": body if body is not None else answer.body[:300]}, stamp)
        _succeeded(box)  # Tempest answered: no backoff for the next file
        return "rejected"
    return _failed(box, reason)


def _post(box, src, length):
    if not box.seed_route:
        answer = box.client.post(DAYS_ROUTES[0], path=src, length=length)
        if answer.status != 404:
            return answer
        box.seed_route = True
    return box.client.post(DAYS_ROUTES[1], path=src, length=length)


def _reject(box, name, reason, stamp):
    import json

    reason["file"] = name
    reason["time"] = stamp
    target = box.folder("rejected") + "/" + name
    text = json.dumps(reason)
    try:
        box.fs.write_atomic(target + _REASON, lambda out: out.write(text))
    except OSError:
        pass  # a full flash: the file still moves (a rename needs no free space)
    box.fs.rename(box.folder("outbox") + "/" + name, target)
    if box.count:
        box.count -= 1
    box.rejected += 1
    box.last_error = "rejected %s: %s" % (name, reason["reason"])
    box.prune("rejected", box.rejected_keep)


def _failed(box, reason):
    box.failures += 1
    box.last_error = reason
    import random

    cap = min(box.backoff_max_ms, _BASE_MS << min(box.failures - 1, 16))
    # Equal jitter: between half and all of the cap, so a fleet does not retry in step.
    wait = cap // 2 + (cap // 2) * random.getrandbits(8) // 255
    box.next_ms = time.ticks_add(time.ticks_ms(), wait)
    return "retry"


def _reason(status, body):
    if isinstance(body, dict):
        text = body.get("reason") or body.get("error")
        if body.get("field"):
            text = "%s (field %s)" % (text, body["field"])
        if text:
            return "HTTP %d: %s" % (status, text)
    return "HTTP %d" % status
