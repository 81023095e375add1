"""The load generator of bench/bench_load.py: asyncio on raw sockets, one process.

It shares the machine's cores with the Tempest it loads, so it is made cheap: every request
is bytes built before the run (a heartbeat's or a day file's body differs from its template
only in the serial, substituted in place), HTTP/1.1 is written and read by hand on a bare
asyncio protocol (no client library, no streams), a TCP connection a request as meters open
them, and one event loop (uvloop's, where installed) drives every
connection. Each request has a due time; its latency is counted from then, so a server that
falls behind is charged for the wait (no coordinated omission); "service" is from when it was
sent.
"""

from __future__ import annotations

import asyncio
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field

_LENGTH = re.compile(rb"\r\ncontent-length:\s*(\d+)", re.IGNORECASE)


def request_bytes(host: str, port: int, path: str, key: str, body: bytes) -> bytes:
    return (f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nx-api-key: {key}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
            ).encode() + body


@dataclass
class Result:
    kind: str
    due: float  # seconds from the start
    latency: float  # from due to the answer, seconds
    service: float  # from sent to the answer
    status: int  # 0: no answer (connection refused, reset, timed out)
    body: bytes = b""


@dataclass
class Job:
    due: float
    kind: str
    make: Callable[[], bytes]  # the request's bytes, built when it is sent
    keep_body: bool = False
    then: Callable[[Result], None] | None = None


class _Exchange(asyncio.Protocol):
    """One request on a connection of its own, read by hand: the answer's head, then its
    body by Content-Length (or to the server's close). A bare protocol, not asyncio's
    streams: a StreamReader, a StreamWriter and a wait_for task a request cost the generator
    about a third of its CPU, and it shares the cores with the server it measures."""

    __slots__ = ("data", "done", "buf", "need", "head")

    def __init__(self, data: bytes, done: asyncio.Future):
        self.data, self.done = data, done
        self.buf = bytearray()
        self.need = -1  # bytes of head + body, once the head is in; -1: to the close
        self.head = b""

    def connection_made(self, transport) -> None:
        transport.write(self.data)

    def data_received(self, chunk: bytes) -> None:
        self.buf += chunk
        if not self.head:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                return
            self.head = bytes(self.buf[:end + 4])
            m = _LENGTH.search(self.head)
            self.need = len(self.head) + int(m.group(1)) if m else -1
        if 0 <= self.need <= len(self.buf):
            self._finish()

    def eof_received(self) -> bool:
        self._finish()
        return False

    def connection_lost(self, exc) -> None:
        if not self.done.done():
            self.done.set_exception(exc or ConnectionError("closed before an answer"))

    def _finish(self) -> None:
        if self.done.done():
            return
        if not self.head:
            self.done.set_exception(ConnectionError("closed before an answer"))
            return
        body = bytes(self.buf[len(self.head):self.need if self.need >= 0 else None])
        self.done.set_result((int(self.head[9:12]), body))


async def _exchange(loop, host: str, port: int, data: bytes, timeout: float) -> tuple[int, bytes]:
    """Send one request over a new connection and read its answer (as a meter does)."""
    done = loop.create_future()
    timer = loop.call_later(timeout, lambda: done.done() or done.set_exception(TimeoutError()))
    transport = None
    try:
        transport, _ = await loop.create_connection(lambda: _Exchange(data, done), host, port)
        return await done
    finally:
        timer.cancel()
        if transport is not None:
            transport.close()


@dataclass
class Run:
    results: list[Result] = field(default_factory=list)
    late_start: float = 0.0  # the most the dispatcher itself ran behind a due time


async def _run(host: str, port: int, jobs: list[Job], connections: int,
               timeout: float) -> Run:
    run = Run()
    queue: asyncio.Queue[Job | None] = asyncio.Queue()
    loop = asyncio.get_running_loop()
    start = loop.time() + 0.5

    async def worker() -> None:
        while (job := await queue.get()) is not None:
            sent = loop.time()
            try:
                status, body = await _exchange(loop, host, port, job.make(), timeout)
            except (TimeoutError, OSError):
                status, body = 0, b""
            done = loop.time()
            result = Result(job.kind, job.due, done - (start + job.due), done - sent, status,
                            body if job.keep_body else b"")
            run.results.append(result)
            if job.then is not None:
                job.then(result)

    tasks = [asyncio.create_task(worker()) for _ in range(connections)]
    for job in sorted(jobs, key=lambda j: j.due):
        wait = start + job.due - loop.time()
        if wait > 0:
            await asyncio.sleep(wait)
        else:
            run.late_start = max(run.late_start, -wait)
        queue.put_nowait(job)
    for _ in tasks:
        queue.put_nowait(None)
    await asyncio.gather(*tasks)
    return run


def event_loop_name() -> str:
    """The event loop run_jobs() drives the sockets with (the benchmarks print it)."""
    return "uvloop" if _uvloop_factory() is not None else "asyncio"


def _uvloop_factory():
    try:
        import uvloop
    except ImportError:  # the dev extra brings it; without it the generator costs more CPU
        return None
    return uvloop.new_event_loop


def run_jobs(host: str, port: int, jobs: list[Job], connections: int = 64,
             timeout: float = 60.0) -> Run:
    """Send every job at its due time (seconds from now + 0.5) over `connections` sockets."""
    with asyncio.Runner(loop_factory=_uvloop_factory()) as runner:
        return runner.run(_run(host, port, jobs, connections, timeout))


def cpu_seconds() -> float:
    """This process's CPU time: what the generator itself cost."""
    return time.process_time()


_TICK = os.sysconf("SC_CLK_TCK")


def cpu_of(pids: list[int]) -> float:
    """CPU seconds (user + system) other processes have used so far, from /proc (Tempest's:
    CPU time, unlike latency, does not depend on how loaded the shared machine is)."""
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:  # gone meanwhile (a gunicorn worker restarted)
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / _TICK
