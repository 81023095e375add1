"""A concentrator's delivery pass: the sealed days of many meters, in batches.

For each meter, as in its own HTTP pass (meter/delivery/upload.py): wait out its backoff
unless forced, take its folder's lock, check each outbox file itself (a bad one goes to
rejected/ at once, never costing Tempest anything), oldest first. Then, unlike that pass, the
files of many meters go in one request (`POST /api/v1/concentrator/days`, each file's text as
a JSON string, so Tempest gets its exact bytes), and each comes back with its own verdict:
accepted -> sent/, refused (400/413/422) -> rejected/ with the reason, anything else stays in
the outbox for the next pass. A request that fails as a whole (no answer, 5xx, 401...) moves
nothing: every meter in it backs off as after a failed pass of its own, and the pass stops.

Meters are taken a batch's worth at a time, so a host of 100,000 meters never holds more
than a batch's worth of folder locks or file bytes.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterator
from pathlib import Path

from meter.config import Config
from meter.delivery import checks, state, upload
from meter.delivery.concentrator import DAYS_ROUTE, Concentrator, chunks, item_reason, verdicts
from meter.delivery.events import Events, now_iso
from meter.delivery.folders import Busy, Folders
from meter.delivery.result import PassResult
from meter.delivery.transport import REJECTED, SENT, Tempest, classify

# Folder locks held at once (one open file each): well under the usual limit of 1024.
MAX_LOCKED = 500
# JSON's overhead on a file's text: the batch's size is counted as sent, so this is only the
# list's own punctuation per item.
_ITEM_OVERHEAD = 4


class _Member:
    """One meter in the pass: its folders, backoff state, events and result."""

    def __init__(self, cfg: Config, root: Path, now: float):
        self.cfg = cfg
        self.folders = Folders(root)
        self.now = now
        self.events = Events(self.folders.root, cfg.serial)
        self.result = PassResult(cfg.serial, "concentrator")
        self.state = state.State()
        self.contacted = False

    def files(self) -> Iterator[tuple[str, bytes, str]]:
        """(name, bytes, text) of each outbox file that passes the meter's own check."""
        for entry in self.folders.pending():
            path = self.folders.outbox / entry.name
            try:
                data = path.read_bytes()
            except FileNotFoundError:
                continue  # delivered by a redial in the meantime
            except OSError as exc:
                self.events.record("error", entry.name, reason=f"cannot read it: {exc}")
                continue
            try:
                checks.check(data, self.cfg.serial, entry)
                text = data.decode("utf-8")
            except checks.Problem as exc:
                self.reject(entry.name, data, {**exc.as_dict(), "time": now_iso()})
                continue
            except UnicodeDecodeError:
                self.reject(entry.name, data, {**checks.Problem(
                    "the file is not UTF-8 text").as_dict(), "time": now_iso()})
                continue
            yield entry.name, data, text

    def sent(self, name: str, data: bytes, verdict: dict) -> None:
        try:
            self.folders.to_sent(name, data)
        except OSError as exc:  # Tempest has it; it goes again and Tempest dedupes
            self.events.record("error", name, reason=f"sent, but cannot move it to sent/: {exc}")
            self.result.error = f"cannot move {name} to sent/: {exc}"
            return
        self.events.record("sent", name, status=verdict["http"], ingest_id=verdict.get("id"),
                           route="concentrator")
        self.result.sent.append(name)

    def reject(self, name: str, data: bytes, reason: dict) -> None:
        upload.reject(self.events, self.folders, self.result, name, data, reason)

    def kept(self, name: str, verdict: dict) -> None:
        """Tempest could not take this one now (its allowance, its disk): next pass."""
        reason = item_reason(verdict)
        self.events.record("retry", name, status=verdict["http"], reason=reason)
        self.result.error = reason

    def failed(self, reason: str, status: int | None, backoff_max_s: int) -> None:
        delay = self.state.failed(self.now, reason, backoff_max_s)
        self.result.error = reason
        self.result.deferred_until = self.state.next_attempt
        self.events.record("retry", status=status, reason=reason,
                           failures=self.state.failures, retry_in_s=delay)

    def finish(self) -> None:
        if self.contacted and self.result.error is None:
            before = self.state.succeeded(self.now)
            if before:
                self.events.record("recovered", reason=f"Tempest answered again after {before} "
                                   "failed passes")
        state.save(self.folders.root, self.state)


class BatchPass:
    def __init__(self, c: Concentrator, items: list[tuple[Config, Path]],
                 now_of: Callable[[Config], float], client: Tempest | None = None):
        self.c = c
        self.items = items
        self.now_of = now_of
        self.client = client
        self.stopped: str | None = None  # why the pass stopped early
        self.requests = 0

    def run(self, force: bool = False) -> list[PassResult]:
        results: list[PassResult] = []
        own = self.client is None
        if own:
            self.client = self.c.client()
        try:
            for group in chunks(self.items, min(self.c.batch_files, MAX_LOCKED)):
                results.extend(self._group(group, force))
        finally:
            if own:
                self.client.close()
        return results

    def _group(self, group: list[tuple[Config, Path]], force: bool) -> list[PassResult]:
        members = [_Member(cfg, root, self.now_of(cfg)) for cfg, root in group]
        with contextlib.ExitStack() as locks:
            ready = [m for m in members if self._open(m, locks, force)]
            if self.stopped is None:
                self._send(ready)
            else:
                for m in ready:
                    m.result.error = f"not tried: {self.stopped}"
            for m in ready:
                m.finish()
        for m in members:
            m.result.pending = m.folders.backlog()
            m.result.failures = m.state.failures
        return [m.result for m in members]

    def _open(self, m: _Member, locks: contextlib.ExitStack, force: bool) -> bool:
        m.folders.ensure()
        try:
            locks.enter_context(m.folders.lock())
        except Busy as exc:
            m.result.error = str(exc)
            return False
        m.state = state.load(m.folders.root)
        if not force and not m.state.due(m.now, self.c.backoff_max_s):
            m.result.deferred_until = m.state.next_attempt
            return False
        return True

    def _send(self, members: list[_Member]) -> None:
        batch: list[tuple[_Member, str, bytes, str]] = []
        size = 0
        for m in members:
            for name, data, text in m.files():
                cost = len(json.dumps(text)) + _ITEM_OVERHEAD
                if batch and (len(batch) >= self.c.batch_files
                              or size + cost > self.c.batch_bytes):
                    if not self._post(batch):
                        return
                    batch, size = [], 0
                batch.append((m, name, data, text))
                size += cost
        if batch:
            self._post(batch)

    def _post(self, batch: list[tuple[_Member, str, bytes, str]]) -> bool:
        """One request; False when it failed as a whole (the pass stops there)."""
        body = json.dumps({"files": [text for _, _, _, text in batch]}).encode()
        out = self.client.post(DAYS_ROUTE, body)
        self.requests += 1
        found = verdicts(out, len(batch)) if out.kind == SENT else None
        touched = {id(m): m for m, *_ in batch}.values()
        if found is None:
            reason = out.reason if out.kind != SENT else \
                "Tempest's answer had no verdict per file"
            self.stopped = reason
            for m in touched:
                if out.status is not None:
                    m.contacted = True
                m.failed(reason, out.status, self.c.backoff_max_s)
            return False
        for (m, name, data, _), verdict in zip(batch, found, strict=True):
            m.contacted = True
            kind = classify(verdict["http"])
            if kind == SENT:
                m.sent(name, data, verdict)
            elif kind == REJECTED:
                m.reject(name, data, {"status": verdict["http"], "reason": item_reason(verdict),
                                      "body": verdict, "time": now_iso()})
            else:
                m.kept(name, verdict)
        return True


def batch_pass(c: Concentrator, items: list[tuple[Config, Path]],
               now_of: Callable[[Config], float], force: bool = False,
               client: Tempest | None = None) -> list[PassResult]:
    """One delivery pass for all the meters behind concentrator `c`."""
    return BatchPass(c, items, now_of, client).run(force)
