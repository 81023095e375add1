"""The HTTP delivery pass: POST the outbox to Tempest, oldest first, then the open day.

One pass (cron's `meter upload`/`meter deliver`, the agent's POST /tick):

1. Unless forced, wait out the backoff left by earlier failed passes (state.py).
2. For each sealed file, oldest reading day first: check it locally (checks.py; a bad one
   goes to rejected/ at once), POST it, then move it to sent/ on a 2xx, to rejected/ with the
   reason on 400/413/422, or stop the pass on anything else and back off. Stopping keeps the
   order: a later day never overtakes an earlier one that is still waiting.
3. If `delivery.upload_open_day`, POST the open day (built from its journal, meter/openday.py,
   sent as `<day>.json`) when it changed since the last upload (the seed's partial-day
   uploads; Tempest keeps the most complete version).

A file leaves the outbox only by a rename after Tempest answered, so a kill at any moment
leaves it in outbox/ (sent again later: Tempest dedupes by content) or in sent/.
"""

from __future__ import annotations

import hashlib

from meter import openday
from meter.config import Config
from meter.delivery import checks, settings, state
from meter.delivery.events import Events, now_iso
from meter.delivery.folders import Busy, Folders
from meter.delivery.result import PassResult
from meter.delivery.transport import REJECTED, SENT, Outcome, Tempest


class _Stop(Exception):
    """The pass ends here; the remaining files wait for the next one."""


class UploadPass:
    def __init__(self, cfg: Config, root, now: float, client: Tempest | None = None):
        self.cfg = cfg
        self.s = settings.delivery(cfg)
        self.folders = Folders(root)
        self.root = self.folders.root
        self.now = now
        self.events = Events(self.root, cfg.serial)
        self.client = client
        self.result = PassResult(cfg.serial, "http")
        self.state = state.State()
        self.contacted = False

    # -- the pass -----------------------------------------------------------------------------

    def run(self, force: bool = False) -> PassResult:
        res = self.result
        if not self.s.tempest_url:
            res.error = "no tempest_url in the config: nowhere to upload to"
            self.events.record("error", reason=res.error)
            return res
        self.folders.ensure()
        try:
            with self.folders.lock():
                self._locked(force)
        except Busy as exc:
            res.error = str(exc)
        res.pending = self.folders.backlog()
        res.failures = self.state.failures
        return res

    def _locked(self, force: bool) -> None:
        self.state = state.load(self.root)
        if not force and not self.state.due(self.now, self.s.backoff_max_s):
            self.result.deferred_until = self.state.next_attempt
            return
        own = self.client is None
        if own:
            self.client = Tempest(self.s.tempest_url, self.s.api_key, self.s.timeout_s)
        try:
            for entry in self.folders.pending():
                self._one(entry)
            if self.s.upload_open_day:
                self._open_day()
        except _Stop:
            pass
        finally:
            if own:
                self.client.close()
        if self.contacted and self.result.error is None:
            before = self.state.succeeded(self.now)
            if before:
                self.events.record("recovered", reason=f"Tempest answered again after {before} "
                                   "failed passes")
        state.save(self.root, self.state)

    def _one(self, entry) -> None:
        path = self.folders.outbox / entry.name
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return  # delivered by a redial in the meantime
        except OSError as exc:
            self.events.record("error", entry.name, reason=f"cannot read it: {exc}")
            return  # left where it is: a read error is not the file's verdict
        try:
            checks.check(data, self.cfg.serial, entry)
        except checks.Problem as exc:
            self._reject(entry.name, data, {**exc.as_dict(), "time": now_iso()})
            return
        out = self._post(entry.name, data)
        if out.kind == SENT:
            self._sent(entry.name, data, out)
        elif out.kind == REJECTED:
            self._reject(entry.name, data, {**out.as_reason(), "time": now_iso()})

    def _post(self, name: str, data: bytes) -> Outcome:
        out = self.client.post_day(data)
        if out.status is not None:
            self.contacted = True
        if out.kind not in (SENT, REJECTED):
            self._failed(name, out)
        return out

    def _failed(self, name: str | None, out: Outcome) -> None:
        delay = self.state.failed(self.now, out.reason, self.s.backoff_max_s)
        self.result.error = out.reason
        self.result.deferred_until = self.state.next_attempt
        self.events.record("retry", name, status=out.status, reason=out.reason,
                           failures=self.state.failures, retry_in_s=delay)
        raise _Stop()

    def _sent(self, name: str, data: bytes, out: Outcome) -> None:
        try:
            self.folders.to_sent(name, data)
        except OSError as exc:
            # Tempest has it; it stays in the outbox and goes again (deduped by Tempest).
            self.events.record("error", name, reason=f"sent, but cannot move it to sent/: {exc}")
            self.result.error = f"cannot move {name} to sent/: {exc}"
            raise _Stop() from exc
        ingest = out.body.get("id") if isinstance(out.body, dict) else None
        self.events.record("sent", name, status=out.status, ingest_id=ingest, route="http")
        self.result.sent.append(name)

    def _reject(self, name: str, data: bytes, reason: dict) -> None:
        reject(self.events, self.folders, self.result, name, data, reason)

    # -- the open day -------------------------------------------------------------------------

    def _open_day(self) -> None:
        got = openday.render(self.cfg, self.root)
        if got is None:
            return  # no day open (or sealed by a tick running right now)
        name, data = openday.file_name(got[0]), got[1]
        sha = hashlib.sha256(data).hexdigest()
        if sha == self.state.open_day_sha256:
            self.result.open_day = "unchanged"
            return
        try:
            checks.check(data, self.cfg.serial)
        except checks.Problem as exc:
            # data/ belongs to the tick: the journal is left alone.
            self.events.record("skipped", name, reason=f"open day not sent: {exc.reason}",
                               field=exc.field or None)
            self.result.open_day = "skipped"
            return
        out = self._post(name, data)
        # A rejected open day is not sent again until it changes; the sealed day will follow.
        self.state.open_day_sha256 = sha
        self.result.open_day = out.kind
        event = "sent" if out.kind == SENT else "rejected"
        self.events.record(event, name, status=out.status, open_day=True,
                           reason=None if out.kind == SENT else out.reason)


def upload_pass(cfg: Config, root, now: float, force: bool = False,
                client: Tempest | None = None) -> PassResult:
    """One HTTP delivery pass for one meter at meter-clock time `now` (Unix seconds)."""
    return UploadPass(cfg, root, now, client).run(force)


def reject(events: Events, folders: Folders, result: PassResult, name: str, data: bytes,
           reason: dict) -> None:
    """A file Tempest (or the meter's own check) refused for good: logged, moved to rejected/
    with its reason, and counted; the same for a per-meter upload and a concentrator batch."""
    reason["file"] = name
    events.record("rejected", name, status=reason.get("status"),
                  reason=reason.get("reason"), field=reason.get("field") or None)
    try:
        folders.to_rejected(name, reason, data)
    except OSError as exc:
        events.record("error", name, reason=f"cannot move it to rejected/: {exc}")
        return
    result.rejected.append(name)
