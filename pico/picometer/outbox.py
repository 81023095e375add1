# Delivery of sealed days from the flash outbox to Tempest: the CPython meter's contract
# (meter/delivery/upload.py, docs/protocol.md), one file per call so a call stays short.
#
#   2xx           sent: the file is renamed into sent/ (Tempest dedupes, so a repeat is safe)
#   400, 413, 422 rejected: the file itself is the problem; <name>.reason.json is written
#                 first, then the file is renamed into rejected/ (a crash in between leaves it
#                 in the outbox, where the next call rejects it again)
#   anything else retry later, oldest file first (a later day never overtakes an earlier one),
#                 with capped exponential backoff and jitter, as the Pi does
#
# A file leaves the outbox only by a rename, so a reset at any moment leaves it whole in
# exactly one folder, and nothing ever deletes an outbox file. Flash is small (about 850 KB on
# a Pico W), so sent/ keeps only the newest few days and rejected/ a few more (Tempest has the
# sent ones; rejected ones are also in Tempest's quarantine); prune() trims them.

import time

from micropython import const

PERMANENT = (400, 413, 422)
DAYS_ROUTES = ("api/v1/days", "update")
_BASE_MS = const(60000)
_REASON = ".reason.json"


def _valid_name(name, serial):
    # <serial>_<YYYY-MM-DD>.json: the only names the Ticker puts in the outbox.
    if not (name.startswith(serial + "_") and name.endswith(".json")):
        return False
    day = name[len(serial) + 1:-5]
    return len(day) == 10 and day[4] == "-" and day[7] == "-" and (
        day[:4] + day[5:7] + day[8:]).isdigit()


class Outbox:
    def __init__(self, fs, root, serial, client, backoff_max_s=3600, sent_keep=3,
                 rejected_keep=10):
        self.fs = fs
        self.root = root
        self.serial = serial
        self.client = client
        self.backoff_max_ms = backoff_max_s * 1000
        self.sent_keep = sent_keep
        self.rejected_keep = rejected_keep
        self.failures = 0
        self.next_ms = time.ticks_ms()
        self.last_error = None
        self.seed_route = False  # this Tempest has no /api/v1/days: use the seed's /update
        self.sent = 0
        self.rejected = 0
        # Files waiting, as last counted (None: count again). Kept so that an empty outbox
        # costs no directory listing per main-loop pass; the tick says when it adds files.
        self.count = None

    def folder(self, name):
        return self.root + "/" + name

    def pending(self):
        """Outbox names, oldest reading day first (the date is in the name)."""
        names = [n for n in self.fs.listdir(self.folder("outbox")) if n.endswith(".json")]
        names.sort()
        return names

    def backlog(self):
        if self.count is None:
            self.count = len(self.pending())
        return self.count

    def changed(self):
        """The tick sealed or released a day: count the outbox again."""
        self.count = None

    def due(self):
        return time.ticks_diff(time.ticks_ms(), self.next_ms) >= 0

    def send_one(self, stamp):
        """Deliver the oldest outbox file. Returns "sent", "rejected", "retry" or None (empty).
        `stamp` is the time as ISO text for reason files."""
        names = self.pending()
        self.count = len(names)
        if not names:
            return None
        name = names[0]
        src = self.folder("outbox") + "/" + name
        if not _valid_name(name, self.serial):
            self._reject(name, {"status": None, "reason": "%r is not a day file name of this "
                                "meter (<serial>_<YYYY-MM-DD>.json)" % name,
                                "checked_by": "meter"}, stamp)
            return "rejected"
        try:
            length = self.fs.size(src)
            answer = self._post(src, length)
        except OSError as e:
            return self._failed("cannot reach Tempest: %s" % (e,))
        status = answer.status
        if 200 <= status < 300:
            self.fs.rename(src, self.folder("sent") + "/" + name)
            self.count -= 1
            self.sent += 1
            self._succeeded()
            self.prune("sent", self.sent_keep)
            return "sent"
        body = answer.json()
        reason = _reason(status, body)
        if status in PERMANENT:
            self._reject(name, {"status": status, "reason": reason,
                                "body": body if body is not None else answer.body[:300]}, stamp)
            self._succeeded()  # Tempest answered: no backoff for the next file
            return "rejected"
        return self._failed(reason)

    def _post(self, src, length):
        if not self.seed_route:
            answer = self.client.post(DAYS_ROUTES[0], path=src, length=length)
            if answer.status != 404:
                return answer
            self.seed_route = True
        return self.client.post(DAYS_ROUTES[1], path=src, length=length)

    def _reject(self, name, reason, stamp):
        import json

        reason["file"] = name
        reason["time"] = stamp
        target = self.folder("rejected") + "/" + name
        text = json.dumps(reason)
        try:
            self.fs.write_atomic(target + _REASON, lambda out: out.write(text))
        except OSError:
            pass  # a full flash: the file still moves (a rename needs no free space)
        self.fs.rename(self.folder("outbox") + "/" + name, target)
        if self.count:
            self.count -= 1
        self.rejected += 1
        self.last_error = "rejected %s: %s" % (name, reason["reason"])
        self.prune("rejected", self.rejected_keep)

    def _failed(self, reason):
        self.failures += 1
        self.last_error = reason
        import random

        cap = min(self.backoff_max_ms, _BASE_MS << min(self.failures - 1, 16))
        # Equal jitter: between half and all of the cap, so a fleet does not retry in step.
        wait = cap // 2 + (cap // 2) * random.getrandbits(8) // 255
        self.next_ms = time.ticks_add(time.ticks_ms(), wait)
        return "retry"

    def _succeeded(self):
        self.failures = 0
        self.last_error = None
        self.next_ms = time.ticks_ms()

    def prune(self, which, keep):
        """Keep the `keep` newest day files (by name, i.e. by day) of sent/ or rejected/."""
        d = self.folder(which)
        names = [n for n in self.fs.listdir(d) if n.endswith(".json") and not n.endswith(_REASON)]
        if len(names) <= keep:
            return 0
        names.sort()
        gone = 0
        for n in names[:len(names) - keep]:
            for p in (d + "/" + n, d + "/" + n + _REASON):
                if self.fs.exists(p):
                    self.fs.remove(p)
            gone += 1
        return gone


def _reason(status, body):
    if isinstance(body, dict):
        text = body.get("reason") or body.get("error")
        if body.get("field"):
            text = "%s (field %s)" % (text, body["field"])
        if text:
            return "HTTP %d: %s" % (status, text)
    return "HTTP %d" % status
