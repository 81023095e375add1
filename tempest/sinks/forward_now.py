"""Forward what waits for a sink now, through its queue and worker (the seed's `POST /upload`).

The seed forwarded its waiting days to the MDMS only when asked. Tempest's sink worker forwards
each stored day by itself and, after a failure, waits (capped backoff) before trying again.
Asked to forward now, Tempest makes every waiting item due at once (`queue.hurry`) and watches
the worker take them, in order: it never sends a day itself, so the order, the idempotency
keys and the acknowledgements stay the worker's. The watch ends when every item has gone (sent,
or found already there), the worker's first new failure (the items behind it wait for it, in
order), or the time limit.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass

from tempest.sinks import queue

WAIT_SECONDS = 30.0  # how long `POST /upload` watches the worker at most
POLL_SECONDS = 0.1


@dataclass(frozen=True)
class Forwarded:
    uploaded: int  # items the sink acknowledged since the call
    waiting: int  # items still queued (the sink failed, or the time ran out)
    dead: int  # items that died in the meantime (the sink refused them for good)
    last_error: str | None  # the sink's last error, when something did not go


def _states(conn: sqlite3.Connection, items: list[queue.Item]) -> dict[int, tuple]:
    """id -> (state, last_attempt_at) of the items still in the queue."""
    out: dict[int, tuple] = {}
    ids = [it.id for it in items]
    for first in range(0, len(ids), 500):
        chunk = ids[first:first + 500]
        for r in conn.execute("SELECT id, state, last_attempt_at FROM sink_queue WHERE id IN "
                              f"({', '.join('?' * len(chunk))})", chunk):
            out[r[0]] = (r[1], r[2])
    return out


def _settled(states: dict[int, tuple], since: float) -> bool:
    """Nothing left to watch: every item is gone or dead, or one was tried since the call and
    is still queued (it failed; what follows waits for it)."""
    if all(state == queue.DEAD for state, _ in states.values()):
        return True
    return any(state == queue.QUEUED and (tried or 0) >= since
               for state, tried in states.values())


def _delivered_since(conn: sqlite3.Connection, sink: str, items: list[queue.Item],
                     gone: set[int], since: float) -> int:
    n = 0
    for it in items:
        if it.id in gone and conn.execute(
                "SELECT 1 FROM sink_delivered WHERE sink = ? AND serial = ? AND reading_day = ? "
                "AND delivered_at >= ?", (sink, it.serial, it.reading_day, since)).fetchone():
            n += 1
    return n


def forward_now(conn: sqlite3.Connection, sink: str, wait: float = WAIT_SECONDS, *,
                clock: Callable[[], float] = time.time,
                sleep: Callable[[float], None] = time.sleep) -> Forwarded:
    """Make what waits for `sink` due now and watch the worker forward it (at most `wait`
    seconds). `conn` must not be in a transaction: each look sees the worker's commits."""
    since = clock()
    items = queue.hurry(conn, sink)
    deadline = since + wait
    states = _states(conn, items)
    while states and not _settled(states, since) and clock() < deadline:
        sleep(POLL_SECONDS)
        states = _states(conn, items)
    gone = {it.id for it in items} - set(states)
    waiting = sum(1 for state, _ in states.values() if state == queue.QUEUED)
    dead = sum(1 for state, _ in states.values() if state == queue.DEAD)
    error = None
    if waiting or dead:
        row = conn.execute("SELECT last_error FROM sinks WHERE name = ?", (sink,)).fetchone()
        error = row[0] if row else None
    return Forwarded(_delivered_since(conn, sink, items, gone, since), waiting, dead, error)
