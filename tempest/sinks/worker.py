"""One delivery thread per sink, on its own connection: take the head of the queue, deliver,
acknowledge; on failure wait (capped backoff with jitter) or park the item as dead.

Order: items go out in queue order, and an item waiting for its retry holds back the ones
behind it, so a sink never sees day N+1 before day N (a retried dead item keeps its place).
Idempotent: an item whose stored version the sink has already acknowledged is dropped without
sending (unless it is a replay). A crash between the sink's answer and the acknowledgement
sends that batch once more on restart; both sinks overwrite (InfluxDB) or de-duplicate by
idempotency key (MDMS), so that costs nothing but the request.
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

from tempest import db
from tempest.read import stored
from tempest.sinks import backoff, queue
from tempest.sinks.backoff import PAUSE, RETRY, Failure

log = logging.getLogger("tempest.sinks")

STATE_EVERY_SECONDS = 5.0
READ_CHUNK = 64  # queue items whose days are read from the store together


@dataclass(frozen=True)
class Policy:
    max_attempts: int
    base: float
    cap: float
    poll: float

    @classmethod
    def from_config(cls, config) -> Policy:
        return cls(int(config["SINK_MAX_ATTEMPTS"]), float(config["SINK_BACKOFF_SECONDS"]),
                   float(config["SINK_BACKOFF_MAX_SECONDS"]), float(config["SINK_POLL_SECONDS"]))


class SinkWorker:
    def __init__(self, sink, database, policy: Policy, stop: threading.Event):
        self.sink = sink
        self.name = sink.name
        self.database = database
        self.policy = policy
        self._stop = stop
        self._thread: threading.Thread | None = None
        self.pauses = 0  # consecutive PAUSE failures: the sink-level backoff's exponent
        self.solo_until = 0  # after a rejected batch, send one item at a time up to this id
        self.error: str | None = None
        self.sent = 0
        # One request at a time, on a thread of its own: the worker builds the next batch
        # meanwhile. (items with their days, the request's future), or None.
        self._sender = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"sink-{self.name}")
        self._inflight: tuple[list, Future] | None = None
        self._take = min(sink.max_items, READ_CHUNK)  # queue items read per round

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=f"tempest-sink-{self.name}",
                                        daemon=True)
        self._thread.start()

    def join(self, timeout: float) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _run(self) -> None:
        conn = db.connect(self.database)
        next_state = 0.0
        try:
            while not self._stop.is_set():
                try:
                    wait = self.step(conn, time.time())
                    self.error = None
                except Exception as exc:  # keep delivering after a store hiccup; say why
                    self.error = repr(exc)
                    log.exception("sink %s: step failed", self.name)
                    wait = max(self.policy.poll, 1.0)
                if time.time() >= next_state:
                    self._publish(conn, stopped=False)
                    next_state = time.time() + STATE_EVERY_SECONDS
                if wait > 0:
                    self._stop.wait(wait)
        finally:
            if self._inflight is not None:
                try:  # a request on the wire at a stop: record how it ended
                    self._finish(conn)
                except Exception:
                    log.exception("sink %s: could not finish the last batch", self.name)
            self._sender.shutdown(wait=False)
            self._publish(conn, stopped=True)
            conn.close()
            self.sink.close()

    def _publish(self, conn, stopped: bool) -> None:
        state = {"pid": os.getpid(), "at": time.time(), "stopped": stopped, "sent": self.sent,
                 "error": self.error}
        try:
            with db.transaction(conn):
                conn.execute("INSERT OR REPLACE INTO state (key, value) VALUES (?, ?)",
                             (f"sink.{self.name}", json.dumps(state)))
        except Exception:
            log.exception("sink %s: could not publish its state", self.name)

    # -- one round -----------------------------------------------------------------------------
    def step(self, conn, now: float) -> float:
        """Prepare the next due batch, finish the one in flight, send the next; returns how long
        to wait before the next round.

        While one batch is on the wire (its request runs on the sender thread), the next is
        read from the store and built here, so the sink is kept busy; it is only sent once the
        one in flight is acknowledged, and dropped if that failed, so the order holds.
        """
        flying = self._inflight
        after = flying[0][-1][0].id if flying else 0
        solo = bool(self.solo_until)
        items = queue.head(conn, self.name, 1 if solo else self._take, after)
        if solo and items and items[0].id > self.solo_until:
            self.solo_until = 0
        todo: list = []
        prepared = None
        wait = self.policy.poll
        if items and items[0].next_at > now:
            wait = min(items[0].next_at - now, self.policy.poll)
        elif items:
            todo, skipped, gone = self._batch(conn, items, now)
            if skipped or gone:
                queue.ack(conn, self.name, [], skipped, gone, now)
            if todo:
                prepared = self.sink.prepare([day for _, day in todo])
            wait = 0.0
        if flying and not self._finish(conn):
            return 0.0  # it failed: what was prepared behind it waits its turn again
        if todo:
            self._inflight = (todo, self._sender.submit(self.sink.send, prepared))
            # Read about twice what the last batch took next time, not the sink's maximum:
            # a head of a thousand rows per batch of forty days is wasted work.
            self._take = min(self.sink.max_items, max(READ_CHUNK, 2 * len(todo)))
            return 0.0
        return 0.0 if flying else wait

    def _finish(self, conn) -> bool:
        """Wait for the batch in flight; acknowledge it, or record its failure."""
        todo, future = self._inflight
        self._inflight = None
        try:
            hashes = future.result()
        except Exception as exc:
            # Anything but a Failure is a surprise (a client library's own error type): count
            # it as a retry, so it ends as a dead item with the reason rather than a hot loop.
            failure = exc if isinstance(exc, Failure) else Failure(
                RETRY, f"unexpected error: {exc!r}"[:500])
            if not isinstance(exc, Failure):
                log.error("sink %s: unexpected error", self.name, exc_info=exc)
            self._failed(conn, [it for it, _ in todo], failure, time.time())
            return False
        queue.ack(conn, self.name, [(it, day.hash, h) for (it, day), h in
                                    zip(todo, hashes, strict=True)], [], [], time.time())
        self.pauses = 0
        self.sent += len(todo)
        return True

    def _batch(self, conn, items, now):
        """The leading run of due items that fits the sink's budget, with their days; items
        the sink already has (same stored version) and items whose day is gone, apart. Days
        are read a chunk of items at a time (two queries each), not the whole head."""
        due = list(itertools.takewhile(lambda it: it.next_at <= now, items))
        todo, skipped, gone = [], [], []
        budget = 0
        for first in range(0, len(due), READ_CHUNK):
            part = due[first:first + READ_CHUNK]
            days = stored.many(conn, [(it.serial, it.reading_day) for it in part])
            # A replay is sent whatever the sink has: only the others need the lookup.
            delivered = queue.delivered_hashes(conn, self.name,
                                               [it for it in part if it.cause != "replay"])
            for it in part:
                key = (it.serial, it.reading_day)
                day = days.get(key)
                if day is None:
                    gone.append(it)
                    continue
                if it.cause != "replay" and delivered.get(key) == day.hash:
                    skipped.append(it)
                    continue
                cost = self.sink.cost(day)
                if todo and budget + cost > self.sink.capacity:
                    return todo, skipped, gone
                todo.append((it, day))
                budget += cost
        return todo, skipped, gone

    def _failed(self, conn, batch, failure: Failure, now: float) -> None:
        p = self.policy
        what = f"{batch[0].serial} {batch[0].reading_day}" + (
            f" and {len(batch) - 1} more" if len(batch) > 1 else "")
        if failure.kind == PAUSE:
            self.pauses += 1
            wait = backoff.delay(self.pauses, p.base, p.cap)
            queue.defer(conn, self.name, batch, failure.reason, now, now + wait, charge=False,
                        max_attempts=p.max_attempts)
            log.warning("sink %s paused %.1f s (%s): %s", self.name, wait, what, failure.reason)
        elif failure.kind == RETRY:
            wait = backoff.delay(batch[0].attempts + 1, p.base, p.cap)
            if failure.retry_after is not None:
                wait = max(wait, min(failure.retry_after, p.cap))
            # A batch about to use its last attempt is not left to die together: its days go
            # one by one, so only the day the sink keeps failing on ends dead.
            last = len(batch) > 1 and batch[0].attempts + 1 >= p.max_attempts
            if last:
                self.solo_until = batch[-1].id
            died = queue.defer(conn, self.name, batch, failure.reason, now, now + wait,
                               charge=not last, max_attempts=p.max_attempts)
            log.warning("sink %s: %s failed, retry in %.1f s: %s", self.name, what, wait,
                        failure.reason)
            for it in died:
                log.error("sink %s: %s %s is dead after %d attempts", self.name, it.serial,
                          it.reading_day, p.max_attempts)
        elif len(batch) > 1:
            # Which day of the batch was refused? Send them one by one to find out.
            self.solo_until = batch[-1].id
            log.warning("sink %s refused a batch (%s); retrying it day by day", self.name,
                        failure.reason)
        else:
            queue.kill(conn, self.name, batch[0], failure.reason, now)
            log.error("sink %s: %s is dead: %s", self.name, what, failure.reason)
