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

_REASON = ".reason.json"


class Outbox:
    """The outbox's state. Built by picometer/build.py (build.outbox): fs, root, serial,
    client (the way to Tempest), backoff_max_ms, sent_keep, rejected_keep, failures, next_ms,
    last_error, seed_route (this Tempest has no /api/v1/days: the seed's /update), sent,
    rejected, and count: the files waiting, as last counted (None: count again), so that an
    empty outbox costs no directory listing per main-loop pass (the tick says when it adds
    files)."""

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
        `stamp` is the time as ISO text for reason files. The sending code is
        picometer/upload.py, loaded for the call and unloaded after it: once the backlog is
        empty that is one call a day."""
        from picometer import forget, upload

        try:
            return upload.send_one(self, stamp)
        finally:
            forget("picometer.upload")

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
