"""The ingest worker gathers files that stream in into one batch (tempest/ingest/pace.py), and
takes a file that comes alone at once."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from tempest.ingest.pace import Pace
from tempest.ingest.service import IngestService


def test_a_stream_of_files_is_gathered_and_a_lone_file_is_not():
    pace = Pace(0.05)
    assert pace.gather(100.0) == 0.0  # nothing came before
    for i in range(50):  # 50 files in half a second: 100 a second
        pace.taken(100.0 + i * 0.01, 1)
    assert pace.gather(100.5) == 0.05
    assert pace.gather(102.0) == 0.0  # a second and a half later: quiet again
    pace.taken(102.0, 1)
    assert pace.gather(102.01) == 0.0  # one file a second is not a stream


def test_a_few_files_a_second_are_not_a_stream():
    pace = Pace(0.05)
    for i in range(30):  # 30 a second, below the 40 a stream needs
        pace.taken(10.0 + i / 30, 1)
    assert pace.gather(11.0) == 0.0


def test_zero_turns_gathering_off():
    pace = Pace(0.0)
    for i in range(200):
        pace.taken(5.0 + i * 0.001, 1)
    assert pace.gather(5.2) == 0.0


def test_the_worker_waits_for_a_streaming_batch_to_fill(app):
    app.config.update(INGEST_BATCH=3, INGEST_GATHER_SECONDS=5.0)
    service = IngestService(app.config)
    now = time.monotonic()
    for i in range(60):  # files have been streaming in
        service.pace.taken(now - 0.5 + i * 0.008, 1)
    service.queue.put((Path("a.json"), None))

    def two_more():
        time.sleep(0.05)
        service.queue.put((Path("b.json"), None))
        service.queue.put((Path("c.json"), None))

    late = threading.Thread(target=two_more)
    late.start()
    try:
        batch = service._drain(1.0)
    finally:
        late.join()
    assert [p.name for p, _ in batch] == ["a.json", "b.json", "c.json"]


def test_a_file_that_comes_alone_is_taken_at_once(app):
    app.config.update(INGEST_BATCH=3, INGEST_GATHER_SECONDS=5.0)
    service = IngestService(app.config)
    service.queue.put((Path("a.json"), None))
    started = time.monotonic()
    assert [p.name for p, _ in service._drain(1.0)] == ["a.json"]
    assert time.monotonic() - started < 2.5  # not the 5 s a stream would wait
