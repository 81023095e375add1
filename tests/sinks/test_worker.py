"""The worker's decisions, driven step by step with a sink object that answers as told (the
real sinks are tested against real servers in test_influx.py and test_mdms.py): a refused
batch is split to find the day refused, a surprise exception counts as a retry, and a batch is
only sent after the one before it was acknowledged."""

from __future__ import annotations

import threading
import time

from tempest.sinks.backoff import PAUSE, REJECT, Failure
from tempest.sinks.worker import Policy, SinkWorker
from tests.sinks.sinkhelpers import Store
from tests.tempest.tempest_testdata import make_day


class Scripted:
    """A sink that records what it is sent and fails as `script(days)` says."""

    name = kind = "influxdb"
    max_items = 10
    capacity = 10_000

    def __init__(self, script):
        self.script = script
        self.sent: list[list[str]] = []

    @staticmethod
    def cost(day) -> int:
        return 1000

    @staticmethod
    def prepare(days):
        return [d.reading_day for d in days]

    def send(self, days):
        outcome = self.script(days)
        if outcome is not None:
            raise outcome
        self.sent.append(days)
        return [None] * len(days)

    def close(self):
        pass


def drive(store: Store, sink, rounds: int = 60) -> SinkWorker:
    worker = SinkWorker(sink, store.layout.database, Policy(3, 0.0, 0.0, 0.0),
                        threading.Event())
    for _ in range(rounds):
        worker.step(store.conn, time.time() + 1)
    if worker._inflight is not None:
        worker._finish(store.conn)
    return worker


def stored(tmp_path, days: int) -> Store:
    s = Store(tmp_path / "data", SINK_INFLUX_URL="http://127.0.0.1:9")
    s.ingest({f"kili_2024-04-{d:02d}.json": make_day("kili", f"2024-04-{d:02d}", channels=1)
              for d in range(1, days + 1)})
    return s


def test_a_refused_batch_is_sent_day_by_day_to_find_the_day_refused(tmp_path):
    s = stored(tmp_path, 12)
    sink = Scripted(lambda days: Failure(REJECT, "bad line") if "2024-04-03" in days else None)
    drive(s, sink)
    sent = [d for batch in sink.sent for d in batch]
    assert sent == [f"2024-04-{d:02d}" for d in range(1, 13) if d != 3]  # in order
    assert [len(b) for b in sink.sent][:4] == [1, 1, 1, 1]  # the refused batch, one by one
    (dead,) = s.queue("influxdb")
    assert (dead["reading_day"], dead["state"]) == ("2024-04-03", "dead")
    assert dead["last_error"] == "rejected: bad line"


def test_a_surprise_is_a_retry_and_ends_dead_with_its_reason(tmp_path):
    s = stored(tmp_path, 2)
    sink = Scripted(lambda days: KeyError("boom") if "2024-04-01" in days else None)
    drive(s, sink)
    dead = [i for i in s.queue("influxdb") if i["state"] == "dead"]
    assert len(dead) == 1 and dead[0]["attempts"] == 3
    assert "unexpected error: KeyError('boom')" in dead[0]["last_error"]
    assert [d for b in sink.sent for d in b] == ["2024-04-02"]


def test_a_pause_holds_the_queue_without_charging_and_order_survives(tmp_path):
    s = stored(tmp_path, 25)
    down = {"left": 5}

    def script(days):
        if down["left"]:
            down["left"] -= 1
            return Failure(PAUSE, "connection refused")
        return None

    worker = drive(s, Scripted(script))
    assert s.queue("influxdb") == []
    sent = [d for b in worker.sink.sent for d in b]
    assert sent == [f"2024-04-{d:02d}" for d in range(1, 26)]
    assert worker.sink.sent[0] == sent[:10]  # batches of max_items, each sent once
