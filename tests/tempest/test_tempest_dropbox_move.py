"""Moving files out of the drop folder when the kernel refuses the hard link."""

import errno
import os

from tempest.ingest import dropbox


def test_move_copies_when_linking_another_accounts_file_is_refused(tmp_path, monkeypatch):
    # Debian's fs.protected_hardlinks=1 refuses to let Tempest's account link a file the rsync
    # drop account owns (EPERM). That cannot be set up without two accounts and no root, so the
    # refusal itself is injected; everything else is the real file system.
    src = tmp_path / "drop" / "kili_2024-06-01.json"
    src.parent.mkdir()
    src.write_bytes(b'{"serial": "kili"}')
    dest = tmp_path / "archive" / "kili" / "x.json"

    def refuse(a, b):
        raise PermissionError(errno.EPERM, "Operation not permitted")

    monkeypatch.setattr(os, "link", refuse)
    assert dropbox.move(src, dest) is True
    assert dest.read_bytes() == b'{"serial": "kili"}'
    assert not src.exists()
