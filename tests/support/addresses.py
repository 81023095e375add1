"""Free loopback addresses for the servers tests and benchmarks start.

Each server gets a random address of 127.0.0.20-69 and a port the kernel says is free there,
so servers started side by side (two suites at once, a restart racing a new server) almost
never reach for the same address and port. The lab fleet's accounts sit at 127.0.0.10 and up,
but on the lab's own port.
"""

from __future__ import annotations

import random
import socket

LOW, HIGH = 20, 69


def free_address(low: int = LOW, high: int = HIGH) -> tuple[str, int]:
    """A port free right now on a random address in 127.0.0.<low>-<high>."""
    host = f"127.0.0.{random.randint(low, high)}"
    with socket.socket() as s:
        s.bind((host, 0))
        return host, s.getsockname()[1]
