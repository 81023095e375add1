"""A socket that proves nobody called: it listens and never accepts, so a connection attempt
completes in the kernel's backlog and `connections()` afterwards counts who tried (the demo
mode tests of the Pi and the Pico, which must never touch the network)."""

from __future__ import annotations

import socket

from tests.support.addresses import free_address


class Listener:
    def __init__(self):
        self.host, self.port = free_address()
        self.sock = socket.socket()
        self.sock.bind((self.host, self.port))
        self.sock.listen(16)
        self.sock.setblocking(False)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/"

    def connections(self) -> int:
        n = 0
        while True:
            try:
                conn, _ = self.sock.accept()
            except BlockingIOError:
                return n
            conn.close()
            n += 1

    def close(self) -> None:
        self.sock.close()
