"""The InfluxDB sink: batched line protocol through `influxdb-client`'s synchronous write API.

Works with InfluxDB 2.x (`/api/v2/write`, token, org, bucket), InfluxDB 3.x (its v2-compatible
write endpoint: bucket = database, org ignored) and VictoriaMetrics (which the tests run).
The client's own retries are off: the queue retries, with backoff, and survives restarts.
"""

from __future__ import annotations

import ctypes

from influxdb_client import InfluxDBClient, WritePrecision
from influxdb_client.client.write_api import SYNCHRONOUS
from influxdb_client.rest import ApiException
from urllib3.exceptions import (
    ConnectTimeoutError,
    HTTPError,
    MaxRetryError,
    NewConnectionError,
    ReadTimeoutError,
)

from tempest.read.stored import StoredDay
from tempest.sinks import lineproto
from tempest.sinks.backoff import PAUSE, RETRY, Failure, for_status, retry_after_seconds, short


class InfluxSink:
    name = kind = "influxdb"
    max_items = 1000  # days per write, at most; the point budget usually decides first

    def __init__(self, url: str, token: str | None, org: str | None, bucket: str,
                 batch_points: int, timeout: float):
        self.url = url
        self.bucket = bucket
        self.org = org or "-"  # the client wants one; InfluxDB 3 and VictoriaMetrics ignore it
        self.capacity = batch_points
        self.target = f"{url.rstrip('/')} bucket={bucket}"
        keep_freed_memory()
        self.client = InfluxDBClient(url=url, token=token or "", org=self.org,
                                     timeout=int(timeout * 1000), retries=0)
        self.writer = self.client.write_api(write_options=SYNCHRONOUS)

    @staticmethod
    def cost(day: StoredDay) -> int:
        """Points the day may write (an upper bound: missing intervals write none)."""
        return day.expected * (len(day.channels) + len(day.measurements))

    @staticmethod
    def prepare(days: list[StoredDay]) -> tuple[int, bytes]:
        """The request body: every reading of these days as line protocol, encoded here so
        the sending thread needs the GIL as little as possible while the next batch builds."""
        return len(days), lineproto.body(days)

    def send(self, prepared: tuple[int, bytes]) -> list[str | None]:
        """Write the batch in one request; raises Failure."""
        count, body = prepared
        if body:
            self.write(body)
        return [None] * count

    def write(self, body: bytes) -> None:
        try:
            self.writer.write(bucket=self.bucket, org=self.org, record=body,
                              write_precision=WritePrecision.S)
        except ApiException as exc:
            text = (exc.body or exc.reason or "").strip()
            if isinstance(text, bytes):
                text = text.decode("utf-8", "replace")
            headers = exc.headers or {}
            raise for_status(exc.status or 0, f"InfluxDB answered {exc.status}: {text[:300]}",
                             retry_after_seconds(headers.get("Retry-After"))) from None
        except MaxRetryError as exc:
            raise _transport(exc.reason, self.url) from None
        except (HTTPError, OSError) as exc:
            raise _transport(exc, self.url) from None

    def close(self) -> None:
        self.client.close()


# glibc's mallopt parameters (malloc.h) and the sizes set: a batch's buffers are a few MB each.
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
_MMAP_THRESHOLD = 32 * 1024 * 1024  # glibc's largest: buffers below it come from the heap
_TRIM_THRESHOLD = 64 * 1024 * 1024  # free memory kept at the heap's top before giving it back
_kept = False


def keep_freed_memory() -> None:
    """Let the process reuse the memory a batch freed instead of asking the kernel again.

    Every batch allocates some 10 MB of buffers (the readings, the line-protocol rows, the
    request body) and frees them. By default glibc maps buffers this large fresh from the
    kernel and unmaps them when freed, so the next batch touches new pages: about 1,900 page
    faults a batch, which made building the lines twice as dear (0.09 against 0.05 us a point)
    and the store reads dearer too. With a fixed mmap threshold and a high trim threshold,
    freed memory stays in the heap for the next batch; the cost is up to 64 MB kept by a
    process that once needed it. A no-op without glibc (musl, macOS)."""
    global _kept
    if _kept:
        return
    _kept = True
    try:
        mallopt = ctypes.CDLL(None).mallopt  # the C library the interpreter runs on
    except (OSError, AttributeError):
        mallopt = None
    if mallopt is not None:
        mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD)
        mallopt(_M_TRIM_THRESHOLD, _TRIM_THRESHOLD)


def _transport(exc, url: str) -> Failure:
    if isinstance(exc, NewConnectionError | ConnectTimeoutError | ConnectionRefusedError):
        return Failure(PAUSE, f"InfluxDB unreachable at {url}: {short(exc)}")
    if isinstance(exc, ReadTimeoutError | TimeoutError):
        return Failure(RETRY, f"InfluxDB did not answer in time: {short(exc)}")
    return Failure(RETRY, f"InfluxDB connection failed: {short(exc)}")
