"""A symbolic link sent over the rsync route arrives munged (security review, finding 1).

rsync with `--links` recreates the sender's links on the server. The drop account's forced
command is `rrsync -munge ...` (rsync's `--munge-links` on the receiving side), so a link a
meter sends lands pointing under `/rsyncd-munged/` and leads nowhere; Tempest never reads a
link anyway (O_NOFOLLOW), this is the second wall. A real sshd pins the meter's key as the
roles do (tests/delivery/rsync_drop.py), and a real Tempest watches the drop folder.
"""

from __future__ import annotations

import os
import subprocess
import time

import pytest

from tests.support.tempest import Tempest
from tests.tempest.tempest_testdata import make_day

from .rsync_drop import RsyncDrop

DAY = "2024-03-05"


@pytest.fixture
def drop(tmp_path):
    server = Tempest(tmp_path / "tempest", tmp_path / "tempest.log").start()
    sshd = RsyncDrop(tmp_path / "sshd", server.data_dir / "drop").start()
    yield server, sshd
    sshd.stop()
    server.stop()


def test_a_link_sent_over_rsync_arrives_munged_and_leads_nowhere(drop, serial, tmp_path):
    server, sshd = drop
    server.add_meter(serial)
    secret = tmp_path / "tempest.toml"
    secret.write_text("admin_token = 'not-for-meters-0123456789'\n")
    link = tmp_path / "send" / f"{serial}_{DAY}.json"
    link.parent.mkdir()
    link.symlink_to(secret)
    (link.parent / f"{serial}_2024-03-06.json").write_bytes(make_day(serial, "2024-03-06"))
    r = subprocess.run(["rsync", "--times", "--links", "-r", "-e", sshd.ssh_command(serial),
                        f"{link.parent}/", sshd.target()],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    server.wait_days(serial, ["2024-03-06"])  # the real file beside it is taken in
    arrived = server.data_dir / "drop" / serial / link.name
    assert arrived.is_symlink()
    assert os.readlink(arrived).startswith("/rsyncd-munged/"), os.readlink(arrived)
    with pytest.raises(FileNotFoundError):
        arrived.read_bytes()
    time.sleep(1.5)  # a rescan or two later, still not taken in
    assert DAY not in server.days(serial)
