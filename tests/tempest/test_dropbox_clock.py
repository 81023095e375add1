"""The drop folder's settle rule against time stamps that disagree with Tempest's clock.

rsync keeps the sender's modification time, so a meter whose clock runs an hour ahead hands
over a complete file stamped an hour in the future; a clock moved back (NTP, an injected now)
does the same to every file. Only a stamp close to now may mean a writer is still appending.
"""

import os

from tempest.ingest import dropbox

NOW = 1_750_000_000.0  # a fixed instant: the rule is about differences, never today's date
SETTLE = 2.0


def drop_file(folder, name, mtime):
    path = folder / name
    path.write_bytes(b"{}")
    os.utime(path, (mtime, mtime))
    return path


def test_stamps_far_from_now_either_way_are_ready_and_near_ones_wait(tmp_path):
    ahead = drop_file(tmp_path, "ahead.json", NOW + 3600)
    behind = drop_file(tmp_path, "behind.json", NOW - 3600)
    writing = drop_file(tmp_path, "writing.json", NOW - 0.5)
    just_ahead = drop_file(tmp_path, "just_ahead.json", NOW + 1.0)
    got = dropbox.scan(tmp_path, SETTLE, now=NOW)
    assert got.ready == [behind, ahead]  # oldest stamp first
    assert writing not in got.ready and just_ahead not in got.ready
    # The next scan is due when the younger of the two waiting files has settled.
    assert got.settle_at == NOW - 0.5 + SETTLE


def test_a_file_stamped_in_the_future_is_ready_at_once_not_after_the_clock_catches_up(tmp_path):
    ahead = drop_file(tmp_path, "m1_2025-03-30.json", NOW + 86400)
    assert dropbox.scan(tmp_path, SETTLE, now=NOW).ready == [ahead]
