"""A Tempest with something already stored, and a fingerprint of everything stored, to prove
that no malformed input changed it."""

from __future__ import annotations

import hashlib
import os

from tempest import create_app, keys
from tempest.db import connect
from tempest.ingest.service import IngestService
from tempest.settings import layout
from tests.hardening import corpus
from tests.support.tempest_client import ADMIN_TOKEN

OTHER = "mac"


class Stored:
    """An app on a data dir holding corpus days of `kili`, and keys for kili and mac."""

    def __init__(self, tmp_path, **config):
        self.config = {"DATA_DIR": str(tmp_path / "data"), "ADMIN_TOKEN": ADMIN_TOKEN,
                       "SETTLE_SECONDS": 0.0, "MAX_CONTENT_LENGTH": 64 * 1024, **config}
        self.app = create_app(self.config)
        self.layout = layout(self.app.config)
        self.conn = connect(self.layout.database)
        self.key = keys.add(self.conn, corpus.SERIAL, timezone="Pacific/Auckland").key
        self.other_key = keys.add(self.conn, OTHER).key
        for i, text in enumerate(corpus.day_texts()):
            (self.layout.drop / f"{corpus.SERIAL}_{i}.json").write_bytes(text)
        outcomes = [x.outcome for x in IngestService(self.app.config).run_once()]
        assert set(outcomes) <= {"stored", "replaced"}, outcomes
        self.client = self.app.test_client()
        r = self.client.post("/api/v1/heartbeats", json=corpus.heartbeat(),
                             headers={"x-api-key": self.key})
        assert r.status_code == 200, r.get_json()

    def fingerprint(self) -> str:
        return fingerprint(self.conn, self.layout.archive)

    def drop(self) -> list[str]:
        return [n for n in os.listdir(self.layout.drop) if not n.startswith(".")]

    def close(self) -> None:
        self.conn.close()


def fingerprint(conn, archive) -> str:
    """Every stored day, reading, file record, registry row and archived file."""
    h = hashlib.sha256()
    for sql in ("SELECT * FROM days ORDER BY serial, reading_day",
                "SELECT * FROM readings ORDER BY 1, 2, 3",
                "SELECT * FROM files WHERE outcome != 'quarantined' ORDER BY id",
                "SELECT * FROM meters ORDER BY serial",
                "SELECT count(*) FROM heartbeats"):
        for row in conn.execute(sql):
            h.update(repr(tuple(row)).encode())
    for root, _, files in sorted(os.walk(archive)):
        for name in sorted(files):
            h.update(name.encode())
            with open(os.path.join(root, name), "rb") as f:
                h.update(f.read())
    return h.hexdigest()
