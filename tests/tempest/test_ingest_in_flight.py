"""The watch loop moves a batch's files behind the next batch (tempest/ingest/mover.py): a file
offered again while its batch is still moving (a scan and a late event) is not taken twice."""

from __future__ import annotations

import threading

import pytest

from tempest import keys
from tempest.ingest import dropbox
from tempest.ingest.process import Processor
from tempest.settings import layout
from tests.tempest.tempest_testdata import make_day


@pytest.fixture
def lay(app):
    return layout(app.config)


def test_a_file_offered_again_while_its_batch_moves_is_taken_once(app, conn, lay):
    keys.add(conn, "kili")
    processor = Processor(conn, lay, app.config, background_moves=True)
    gate = threading.Event()  # holds the batch's move, as a slow disk's fsyncs would
    real_run = processor.mover.run
    processor.mover.run = lambda moves: (gate.wait(30), real_run(moves))
    bad = make_day("kili", "2023-05-26").replace(b'"interval": 5', b'"interval": 7')
    path = dropbox.write_atomic(lay.drop, "kili_2023-05-26.json", bad, durable=False)
    try:
        [item] = processor.process([(path, None)])
        assert item.outcome == "quarantined" and path.exists()  # still moving
        threading.Timer(0.3, gate.set).start()
        assert processor.process([(path, None)]) == []  # waited for the move: nothing left
    finally:
        gate.set()
        processor.close()
    assert not path.exists()
    assert conn.execute("SELECT count(*) FROM quarantine").fetchone()[0] == 1
    assert len([p for p in lay.quarantine.iterdir() if p.name.endswith(".reason.json")]) == 1
