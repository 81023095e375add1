"""The rsync route: `meter sync` over a real sshd (rrsync, write-only) into a real Tempest's
drop folder, which ingests what arrives. Each meter's key writes only its own subfolder,
`<drop>/<serial>/`, and ingest takes from there only that meter's days (security review,
finding 2)."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from tests.support import ci_guard
from tests.support.sshd import ssh_keygen
from tests.support.tempest import Tempest
from tests.support.waiting import wait_for
from tests.tempest.tempest_testdata import make_day

from .rsync_drop import RsyncDrop, missing

pytestmark = ci_guard.skip_unless(not missing(), "what the rsync route needs",
                                  "; ".join(missing()))

T0 = "2024-03-05T10:00:00+13:00"
T1 = "2024-03-07T00:10:00+13:00"
DAYS = ["2024-03-05", "2024-03-06"]


@pytest.fixture(scope="module")
def drop(tmp_path_factory):
    """A real Tempest and an sshd whose one key may only rrsync into its drop folder."""
    d = tmp_path_factory.mktemp("rsync")
    server = Tempest(d / "tempest", d / "tempest.log").start()
    sshd = RsyncDrop(d / "sshd", server.data_dir / "drop").start()
    yield server, sshd
    sshd.stop()
    server.stop()


def _sealed(m, at=T1):
    m.tick(T0)
    m.tick(at)
    return {n: (m.root / "outbox" / n).read_bytes() for n in m.names("outbox")}


def _hidden(folder) -> list[str]:
    return [n for n in os.listdir(folder) if n.startswith(".")]


def test_sync_delivers_complete_files_into_the_drop_folder(drop, meter_for, serial):
    server, sshd = drop
    m = meter_for(server, delivery=sshd.delivery(serial))
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
    wait_for(lambda: os.listdir(server.data_dir / "drop" / m.serial) == [])
    top = server.data_dir / "drop"
    assert [f for f in os.listdir(top) if not (top / f).is_dir()] == []  # no file at the top
    # `meter deliver` goes by delivery.mode: rsync, with nothing left to send.
    r = m.cli("deliver", at=T1)
    assert r.exit_code == 0 and json.loads(r.stdout)["sent"] == []


def test_sshd_down_keeps_the_files_then_they_go(drop, meter_for, serial):
    server, sshd = drop
    m = meter_for(server, delivery=sshd.delivery(serial))
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


def test_an_unknown_host_key_is_refused(drop, meter_for, serial, tmp_path):
    server, sshd = drop
    impostor = ssh_keygen(tmp_path / "impostor")
    known = tmp_path / "known_hosts"
    known.write_text(f"[{sshd.host}]:{sshd.port} {impostor}\n")
    m = meter_for(server, delivery={**sshd.delivery(serial), "ssh_known_hosts": str(known)})
    names = sorted(_sealed(m))
    r = m.cli("sync", at=T1)
    assert r.exit_code == 1
    assert "Host key verification failed" in json.loads(r.stdout)["error"]
    assert m.names("outbox") == names
    assert _hidden(server.data_dir / "drop" / m.serial) == []


def test_redial_over_rsync_regenerates_what_sent_no_longer_has(drop, meter_for, serial):
    server, sshd = drop
    m = meter_for(server, delivery=sshd.delivery(serial))
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


# -- Each meter's own folder (security review, finding 2) ----------------------------------


def _rsync_as(sshd, serial: str, *args: str) -> subprocess.CompletedProcess:
    """rsync run by hand with the meter's key: what a meter could do, not only `meter sync`."""
    return subprocess.run(["rsync", "--times", "-e", sshd.ssh_command(serial), *args],
                          capture_output=True, text=True, timeout=60)


def _quarantined(server, name: str) -> dict:
    """The open quarantine record of the file delivered as `name` (waits for ingest)."""

    def find():
        items = server.get("api/v1/quarantine", timeout=10).json()["items"]
        return next((q for q in items if q["original_name"] == name), None)

    return wait_for(find, 20)


def _registered(server) -> set[str]:
    r = server.get("api/v1/meters?per_page=1000", timeout=10)
    r.raise_for_status()
    return {m["serial"] for m in r.json()["items"]}


def _files_at_top(server) -> list[str]:
    top = server.data_dir / "drop"
    return [n for n in os.listdir(top) if not (top / n).is_dir()]


def test_a_meters_key_writes_only_its_own_drop_folder(drop, meter_for, serial, tmp_path):
    server, sshd = drop
    m = meter_for(server, delivery=sshd.delivery(serial))
    other = f"{serial}-b"
    server.add_meter(other)
    sshd.key_for(other)  # the other meter's folder exists, as the meter role makes it
    theirs = server.data_dir / "drop" / other
    probe = tmp_path / f"{other}_{DAYS[0]}.json"
    probe.write_bytes(make_day(other, DAYS[0]))
    # Its own folder takes its files, and ingest takes them from there...
    _sealed(m)
    assert m.cli("sync", at=T1).exit_code == 0
    server.wait_days(m.serial, DAYS)
    # ...but nothing gets out of it: not into the other meter's folder, not to the top level.
    for dest in ("../", f"../{other}/", "../../", f"{theirs}/"):
        r = _rsync_as(sshd, serial, str(probe), sshd.target() + dest)
        assert r.returncode != 0 or not os.listdir(theirs), (dest, r.stdout, r.stderr)
    for dest in ("../", f"../{other}/"):
        r = _rsync_as(sshd, serial, str(probe), sshd.target() + dest)
        assert r.returncode != 0 and "rrsync" in r.stderr, (dest, r.stderr)
    # Nor does a symbolic link it plants in its own folder lead out of it.
    link = tmp_path / "out"
    link.symlink_to(f"../{other}")
    _rsync_as(sshd, serial, "--links", str(link), sshd.target())
    r = _rsync_as(sshd, serial, str(probe), sshd.target() + "out/")
    assert r.returncode != 0, r.stdout
    assert os.listdir(theirs) == []
    assert _files_at_top(server) == []
    assert server.days(other) == {}


def test_a_file_of_another_serial_in_a_meters_folder_is_quarantined(drop, meter_for, serial,
                                                                      tmp_path):
    server, sshd = drop
    meter_for(server, delivery=sshd.delivery(serial))
    victim = f"{serial}-v"
    key = server.add_meter(victim)
    day = DAYS[0]
    r = server.post("api/v1/days", timeout=10, headers={"x-api-key": key},
                      data=make_day(victim, day, status="open", upto=100))
    assert r.status_code == 202, r.text
    server.wait_days(victim, [day])
    before = (server.day_file(victim, day), server.days(victim))
    # Sealed and complete: under the old rule it would have replaced the victim's open day.
    forged = tmp_path / f"{victim}_{day}.json"
    forged.write_bytes(make_day(victim, day, bump=5))
    r = _rsync_as(sshd, serial, str(forged), sshd.target())
    assert r.returncode == 0, r.stderr  # its own folder takes any file...
    q = _quarantined(server, forged.name)  # ...and ingest refuses another meter's day there
    assert q["field"] == "serial" and q["serial"] == serial, q
    assert victim in q["reason"] and f"{serial}/" in q["reason"], q["reason"]
    assert (server.day_file(victim, day), server.days(victim)) == before
    wait_for(lambda: os.listdir(server.data_dir / "drop" / serial) == [])


def test_a_file_of_an_unknown_serial_is_quarantined_and_registers_nothing(drop, meter_for,
                                                                          serial, tmp_path):
    from tempest.ingest.dropbox import write_atomic

    server, sshd = drop
    meter_for(server, delivery=sshd.delivery(serial))
    ghost = f"{serial}-ghost"
    # Through a meter's key, into its own folder...
    through_rsync = tmp_path / f"{ghost}_{DAYS[0]}.json"
    through_rsync.write_bytes(make_day(ghost, DAYS[0]))
    assert _rsync_as(sshd, serial, str(through_rsync), sshd.target()).returncode == 0
    # ...and by the collect playbook's trusted route, the top level (a temporary name, then a
    # rename, as Ansible's copy does), beside a known meter's file, which is stored.
    top = server.data_dir / "drop"
    collected = f"{ghost}_{DAYS[1]}.json"
    write_atomic(top, collected, make_day(ghost, DAYS[1]), durable=False)
    write_atomic(top, f"{serial}_{DAYS[1]}.json", make_day(serial, DAYS[1]), durable=False)

    q = _quarantined(server, through_rsync.name)
    assert q["field"] == "serial" and ghost in q["reason"], q
    q = _quarantined(server, collected)
    assert q["field"] == "serial" and q["serial"] == ghost, q
    assert "not registered" in q["reason"] and "tempest meters add" in q["reason"], q["reason"]
    server.wait_days(serial, [DAYS[1]])
    assert ghost not in _registered(server)
    assert server.get(f"api/v1/meters/{ghost}", timeout=10).status_code == 404
    # The files leave the drop folder after the commit that made them visible (the mover runs
    # behind the ingest worker), so this waits for that rather than racing it.
    wait_for(lambda: _files_at_top(server) == [], 20, what="the top of the drop folder to empty")
