"""A TCP relay between the collector and a real `meter dlms-serve`: it passes bytes through,
and can cut a connection after so many bytes from the meter (a meter or a network that drops
the connection mid-read) or slow each chunk down. Real sockets; a thread, closed by the test."""

from __future__ import annotations

import contextlib
import socket
import threading
import time


class Relay:
    def __init__(self, upstream: tuple[str, int]):
        self.upstream = upstream
        self.cut_after: int | None = None  # the next connection is cut after this many bytes
        self.delay_s = 0.0
        self.cuts = 0
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self) -> None:
        self._closed = True
        self._listener.close()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            server = socket.create_connection(self.upstream)
            cut, self.cut_after = self.cut_after, None
            threading.Thread(target=self._pump, args=(client, server, None), daemon=True).start()
            threading.Thread(target=self._pump, args=(server, client, cut), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket, cut: int | None) -> None:
        passed = 0
        try:
            while True:
                chunk = src.recv(512)
                if not chunk:
                    break
                if cut is not None and passed + len(chunk) >= cut:
                    dst.sendall(chunk[:max(cut - passed, 0)])
                    self.cuts += 1
                    break
                if self.delay_s:
                    time.sleep(self.delay_s)
                dst.sendall(chunk)
                passed += len(chunk)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
                s.close()
