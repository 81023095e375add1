"""The rsync route: `meter sync` over a real sshd (rrsync, write-only) into a real Tempest's
drop folder, which ingests what arrives."""

from __future__ import annotations

import json
import os

import pytest

from .helpers import TempestServer, wait_for
from .sshd import Sshd, keygen, missing

pytestmark = pytest.mark.skipif(bool(missing()), reason="rsync route: " + "; ".join(missing()))

T0 = "2024-03-05T10:00:00+13:00"
T1 = "2024-03-07T00:10:00+13:00"
DAYS = ["2024-03-05", "2024-03-06"]


@pytest.fixture(scope="module")
def drop(tmp_path_factory):
    """A real Tempest and an sshd whose one key may only rrsync into its drop folder."""
    d = tmp_path_factory.mktemp("rsync")
    server = TempestServer(d / "tempest", d / "tempest.log").start()
    sshd = Sshd(d / "sshd", server.data_dir / "drop").start()
    yield server, sshd
    sshd.stop()
    server.stop()


def _sealed(m, at=T1):
    m.tick(T0)
    m.tick(at)
    return {n: (m.root / "outbox" / n).read_bytes() for n in m.names("outbox")}


def _hidden(folder) -> list[str]:
    return [n for n in os.listdir(folder) if n.startswith(".")]


def test_sync_delivers_complete_files_into_the_drop_folder(drop, meter_for):
    server, sshd = drop
    m = meter_for(server, delivery=sshd.delivery())
    before = _sealed(m)
    names = sorted(before)

    r = m.cli("sync", at=T1)
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert out["route"] == "rsync" and out["sent"] == names and out["pending"] == 0
    assert m.names("outbox") == [] and m.names("sent") == names
    server.wait_days(m.serial, DAYS)
    for d, n in zip(DAYS, names, strict=True):
        assert server.day_file(m.serial, d) == before[n]
    # Nothing half-written was left behind, and everything was taken in.
    wait_for(lambda: os.listdir(server.data_dir / "drop") == [])
    # `meter deliver` goes by delivery.mode: rsync, with nothing left to send.
    r = m.cli("deliver", at=T1)
    assert r.exit_code == 0 and json.loads(r.stdout)["sent"] == []


def test_sshd_down_keeps_the_files_then_they_go(drop, meter_for):
    server, sshd = drop
    m = meter_for(server, delivery=sshd.delivery())
    names = sorted(_sealed(m))
    sshd.stop()

    r = m.cli("sync", at=T1)
    assert r.exit_code == 1
    out = json.loads(r.stdout)
    assert out["sent"] == [] and "rsync exited" in out["error"]
    assert m.names("outbox") == names
    retry = [e for e in m.events() if e["event"] == "retry"]
    assert retry and "refused" in retry[-1]["reason"].lower()
    assert json.loads((m.root / "delivery.json").read_text())["failures"] == 1

    sshd.start()
    r = m.cli("sync", "--force", at=T1)
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["sent"] == names
    server.wait_days(m.serial, DAYS)


def test_an_unknown_host_key_is_refused(drop, meter_for, tmp_path):
    server, sshd = drop
    impostor = keygen(tmp_path / "impostor")
    known = tmp_path / "known_hosts"
    known.write_text(f"[{sshd.host}]:{sshd.port} {impostor}\n")
    m = meter_for(server, delivery={**sshd.delivery(), "ssh_known_hosts": str(known)})
    names = sorted(_sealed(m))
    r = m.cli("sync", at=T1)
    assert r.exit_code == 1
    assert "Host key verification failed" in json.loads(r.stdout)["error"]
    assert m.names("outbox") == names
    assert _hidden(server.data_dir / "drop") == []


def test_redial_over_rsync_regenerates_what_sent_no_longer_has(drop, meter_for):
    server, sshd = drop
    m = meter_for(server, delivery=sshd.delivery())
    before = _sealed(m)
    assert m.cli("sync", at=T1).exit_code == 0
    server.wait_days(m.serial, DAYS)
    gone = sorted(before)[0]
    os.remove(m.root / "sent" / gone)

    r = m.cli("redial", "--from", DAYS[0], "--to", DAYS[1], at=T1)
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert out["days_uploaded"] == 2
    assert [d["source"] for d in out["days"]] == ["regenerated", "sent"]
    assert (m.root / "sent" / gone).read_bytes() == before[gone]
    assert not any(n.startswith(".redial") for n in os.listdir(m.root))
