"""Two Tempest nodes on one store store a file handed to both once (docs/scaling.md,
"Ingest is idempotent across nodes").

Each node has its own data dir (drop, archive, quarantine) and the same store: the suite's
PostgreSQL database when it runs on PostgreSQL, else one SQLite file both nodes name with
TEMPEST_DATABASE. Both ingest workers run at once on the same day file; the store's keys, not
a node, decide that it is stored once.
"""

from __future__ import annotations

import os
import subprocess
import sys
from contextlib import closing

from tempest import create_app
from tempest.db import connect
from tempest.settings import layout
from tests.support import REPO
from tests.support.tempest import store_config
from tests.tempest.tempest_testdata import issue_key, make_day

DAYS = [f"2023-05-{d:02d}" for d in range(20, 27)]


def test_two_nodes_handed_the_same_files_store_each_day_once(tmp_path):
    shared = store_config() or {"DATABASE": str(tmp_path / "shared.sqlite3")}
    nodes = [tmp_path / "node-a", tmp_path / "node-b"]
    for node in nodes:
        app = create_app({"DATA_DIR": str(node), **shared})
    store = layout(app.config).database
    with closing(connect(store)) as conn:
        issue_key(conn, "kili")
    for node in nodes:
        for day in DAYS:
            (node / "drop" / f"kili_{day}.json").write_bytes(make_day("kili", day))

    env = {**os.environ, "TEMPEST_SETTLE_SECONDS": "0", "TEMPEST_INGEST_BATCH": "2",
           **{f"TEMPEST_{k}": v for k, v in shared.items()}}
    procs = [subprocess.Popen([sys.executable, "-m", "tempest", "ingest", "--data-dir",
                               str(node)], env=env, cwd=REPO, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT) for node in nodes]
    for proc in procs:
        out, _ = proc.communicate(timeout=120)
        assert proc.returncode == 0, out.decode(errors="replace")

    with closing(connect(store)) as conn:
        days = conn.execute("SELECT reading_day, versions FROM days WHERE serial = 'kili' "
                            "ORDER BY reading_day").fetchall()
        files = conn.execute("SELECT outcome, count(*) FROM files GROUP BY outcome "
                             "ORDER BY outcome").fetchall()
        stored = conn.execute("SELECT count(*) FROM ingest_log WHERE event = 'stored'"
                              ).fetchone()[0]
        readings = conn.execute("SELECT count(DISTINCT reading_day), count(*) FROM readings "
                                "WHERE serial = 'kili'").fetchone()
        counter = conn.execute("SELECT days_stored FROM meters WHERE serial = 'kili'"
                               ).fetchone()[0]
    assert [(r[0], r[1]) for r in days] == [(d, 1) for d in DAYS]
    assert stored == len(DAYS) and counter == len(DAYS)
    assert readings[0] == len(DAYS)
    # One ingest id per file (its name and hash): each is recorded once, as stored, whichever
    # node got there first; the other node's delivery found it there.
    assert [tuple(r) for r in files] == [("stored", len(DAYS))]
    for node in nodes:  # each node archived its copy and left nothing in its drop folder
        assert not list((node / "drop").glob("*.json"))
