"""Files that survive a power loss (security review, finding 10).

After the store's commit, ingest writes the bytes it read into archive/ (or quarantine/, with
the reason file) and removes the drop file. Each step must be on disk before the next one makes
the previous state unrecoverable: the file synced before its rename, the folder synced after
it, the drop file removed only then and the drop folder synced. A copy left by an earlier pass
(cut short by a crash or a power loss) is trusted only if its hash is the recorded one.

The order of the real system calls is read with strace from a real `tempest ingest`, not
from a seam in the code: what is checked is what the kernel was asked to do.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from tempest import create_app
from tempest.db import connect
from tempest.ingest import dropbox
from tempest.ingest.process import Processor
from tempest.settings import layout
from tests.support import REPO
from tests.support.tempest import store_config
from tests.tempest.tempest_testdata import issue_key, make_day


@pytest.fixture
def lay(app):
    return layout(app.config)


@pytest.fixture
def processor(app, conn, lay):
    issue_key(conn, "kili")  # Tempest stores days only for meters it knows
    return Processor(conn, lay, app.config)


def _archived(conn, lay, file_id: str):
    row = conn.execute("SELECT path FROM files WHERE id = ?", (file_id,)).fetchone()
    return lay.data_dir / row["path"]


def test_an_archive_copy_with_wrong_bytes_is_rewritten_when_the_pass_is_finished(
        processor, conn, lay):
    """A crash between the commit and the drop file's removal, with the archive copy cut
    short (a power loss before its data reached the disk): the next pass rewrites it."""
    data = make_day("kili", "2023-05-26")
    path = dropbox.write_atomic(lay.drop, "kili.json", data, durable=False)
    [item] = processor.process([(path, None)])
    archived = _archived(conn, lay, item.delivery.id)
    archived.write_bytes(data[: len(data) // 3])  # what the disk kept
    dropbox.write_atomic(lay.drop, "kili.json", data, durable=False)  # never removed
    [again] = processor.process([(path, None)])
    assert again.done is not None and not path.exists()
    assert archived.read_bytes() == data


@pytest.mark.parametrize("damage", ["empty", "other bytes", "a link"])
def test_a_redelivery_of_the_stored_bytes_repairs_a_damaged_archive_copy(
        processor, conn, lay, tmp_path, damage):
    data = make_day("kili", "2023-05-26")
    [first] = processor.process([(dropbox.write_atomic(lay.drop, "a.json", data), None)])
    archived = _archived(conn, lay, first.delivery.id)
    if damage == "a link":
        other = tmp_path / "elsewhere.json"
        other.write_bytes(b"not the day")
        archived.unlink()
        os.symlink(other, archived)
    else:
        archived.write_bytes(b"" if damage == "empty" else b"x" * len(data))
    [again] = processor.process([(dropbox.write_atomic(lay.drop, "b.json", data), None)])
    assert again.outcome == "unchanged"
    assert not archived.is_symlink() and archived.read_bytes() == data
    if damage == "a link":
        assert other.read_bytes() == b"not the day"  # replaced, never written through


# -- the order of the system calls, from a real `tempest ingest` --------------------------------

_CALL = re.compile(r"^(\d+)\s+(\w+)\((.*)\)\s+=\s+(-?\d+)")
# Calls from several threads at once (ingest fsyncs a batch's files side by side) are split by
# strace: "PID fsync(5</a/b> <unfinished ...>", then "PID <... fsync resumed>) = 0".
_STARTED = re.compile(r"^(\d+)\s+(\w+)\((.*) <unfinished \.\.\.>$")
_RESUMED = re.compile(r"^(\d+)\s+<\.\.\. (\w+) resumed>.*\)\s+=\s+(-?\d+)")


def _calls(log: str) -> list[tuple[str, list[str]]]:
    """(call, [paths]) for every successful call, in the order the calls RETURNED: quoted
    paths and `-y`'s <fd paths>."""
    out = []
    started: dict[tuple[str, str], str] = {}
    for line in log.splitlines():
        if m := _STARTED.match(line):
            started[(m.group(1), m.group(2))] = m.group(3)
            continue
        if m := _RESUMED.match(line):
            pid, name, rc = m.groups()
            args = started.pop((pid, name), "")
        elif m := _CALL.match(line):
            pid, name, args, rc = m.groups()
        else:
            continue
        if rc != "0":
            continue
        paths = re.findall(r'"([^"]*)"', args) or re.findall(r"<([^>]*)>", args)
        out.append((name.removesuffix("at").removesuffix("at2"), paths))
    return out


def _index(calls, name: str, path: str, after: int = -1) -> int:
    for i, (n, paths) in enumerate(calls):
        if i > after and n == name and paths and paths[-1] == path:
            return i
    raise AssertionError(f"no {name}({path}) after call {after}:\n"
                         + "\n".join(f"{i} {c}" for i, c in enumerate(calls)))


def _renamed_into(calls, final: str, after: int = -1) -> tuple[int, str]:
    """The rename that made `final` appear, and the temporary name it came from."""
    for i, (n, paths) in enumerate(calls):
        if i > after and n == "rename" and len(paths) == 2 and paths[1] == final:
            return i, paths[0]
    raise AssertionError(f"{final} never appeared by a rename:\n"
                         + "\n".join(f"{i} {c}" for i, c in enumerate(calls)))


def _synced_then_renamed(calls, final: str) -> int:
    """The file was synced under its temporary name before the rename made it `final`, and
    its folder was synced after; returns the index of that folder sync."""
    renamed, tmp = _renamed_into(calls, final)
    synced = [i for i, (n, p) in enumerate(calls[:renamed]) if n == "fsync" and p == [tmp]]
    assert synced, f"{tmp} was not synced before it became {final}"
    return _index(calls, "fsync", os.path.dirname(final), renamed)


def test_ingest_syncs_each_file_and_folder_before_it_lets_go_of_the_drop_file(tmp_path):
    data_dir = os.path.realpath(tmp_path / "data")
    drop = os.path.join(data_dir, "drop")
    app = create_app({"DATA_DIR": data_dir, **store_config()})  # makes the store and the folders
    conn = connect(layout(app.config).database)
    issue_key(conn, "kili")
    conn.close()
    good = os.path.join(drop, "kili_2023-05-26.json")
    bad = os.path.join(drop, "bad.json")
    with open(good, "wb") as f:
        f.write(make_day("kili", "2023-05-26"))
    with open(bad, "wb") as f:
        f.write(b'{"serial": "kili"}')
    trace = tmp_path / "strace.log"
    env = {**os.environ, "TEMPEST_SETTLE_SECONDS": "0"}
    subprocess.run(["strace", "-f", "-y", "-qq", "-o", str(trace), "-e",
                    "trace=fsync,fdatasync,rename,renameat,renameat2,unlink,unlinkat",
                    sys.executable, "-m", "tempest", "ingest", "--data-dir", data_dir],
                   check=True, env=env, cwd=REPO, capture_output=True, timeout=120)
    calls = _calls(trace.read_text())

    archive = os.path.join(data_dir, "archive")
    (serial_dir,) = os.listdir(archive)
    (archived,) = os.listdir(os.path.join(archive, serial_dir))
    final = os.path.join(archive, serial_dir, archived)
    folder_synced = _synced_then_renamed(calls, final)
    # archive/kili/ is new: its own name in archive/ is synced too, before the drop file goes.
    parent_synced = _index(calls, "fsync", archive)
    gone = _index(calls, "unlink", good, max(folder_synced, parent_synced))
    _index(calls, "fsync", drop, gone)

    quarantine = os.path.join(data_dir, "quarantine")
    (reason,) = [n for n in os.listdir(quarantine) if n.endswith(".reason.json")]
    kept = reason.removesuffix(".reason.json")
    synced = [_synced_then_renamed(calls, os.path.join(quarantine, n)) for n in (reason, kept)]
    gone = _index(calls, "unlink", bad, max(synced))
    _index(calls, "fsync", drop, gone)
    assert not os.listdir(drop)
