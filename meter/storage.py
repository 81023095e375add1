"""The meter's files on a real disk: every write is atomic and durable.

`DiskFS` is the `fs` object loadmodel.ticker expects; its writes are core.durable's (a
`kill -9` or a power cut leaves either the old file or the new one, never half).
"""

from __future__ import annotations

import io
import os

from core.durable import fsync_dir, write_atomic


class DiskFS:
    def exists(self, p: str) -> bool:
        return os.path.exists(p)

    def read_lines(self, p: str):
        with open(p, encoding="ascii", newline="") as f:
            yield from f

    def read_text(self, p: str) -> str:
        with open(p, encoding="utf-8") as f:
            return f.read()

    def append(self, p: str, text: str) -> None:
        with open(p, "a", encoding="ascii", newline="") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())

    def size(self, p: str) -> int:
        """Lets the Ticker keep the open day between ticks (it checks the journal's size
        instead of replaying it)."""
        return os.path.getsize(p)

    def truncate(self, p: str, size: int) -> None:
        if os.path.getsize(p) != size:
            os.truncate(p, size)

    def write_atomic(self, p: str, writer, durable: bool = True) -> None:
        buf = io.StringIO()
        writer(buf)
        write_atomic(p, buf.getvalue().encode("utf-8"), durable=durable)

    def remove(self, p: str) -> None:
        os.remove(p)
        fsync_dir(os.path.dirname(p) or ".")

    def rename(self, a: str, b: str) -> None:
        os.replace(a, b)
        fsync_dir(os.path.dirname(b) or ".")

    def listdir(self, d: str) -> list[str]:
        return [n for n in os.listdir(d) if not n.startswith(".")]

    def makedirs(self, d: str) -> None:
        os.makedirs(d, exist_ok=True)
