"""The InfluxDB sink: batched line protocol through `influxdb-client`'s synchronous write API.

Works with InfluxDB 2.x (`/api/v2/write`, token, org, bucket), InfluxDB 3.x (its v2-compatible
write endpoint: bucket = database, org ignored) and VictoriaMetrics (which the tests run).
The client's own retries are off: the queue retries, with backoff, and survives restarts.
"""

from __future__ import annotations

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


def _transport(exc, url: str) -> Failure:
    if isinstance(exc, NewConnectionError | ConnectTimeoutError | ConnectionRefusedError):
        return Failure(PAUSE, f"InfluxDB unreachable at {url}: {short(exc)}")
    if isinstance(exc, ReadTimeoutError | TimeoutError):
        return Failure(RETRY, f"InfluxDB did not answer in time: {short(exc)}")
    return Failure(RETRY, f"InfluxDB connection failed: {short(exc)}")
