# A small HTTP/1.0 POST over MicroPython's own sockets, bounded in time and in memory.
#
# Why not the frozen `requests`: it needs the whole body as one bytes object (a sealed day is
# up to ~40 KB, a third of the heap) and reads the whole answer; its timeout covers each socket
# call, not the request. Here the body streams from flash in blocks through one reusable
# buffer, the answer is read up to a small cap (a status line and a JSON reason), and every
# socket call gets what is left of one deadline, so a request never blocks the main loop
# past it (the watchdog allows 8 s in all).
#
# Plain http:// only: a Pico meter talks to Tempest on the local network (meter/pico_config.py
# refuses https:// when it renders the config).

import time

from micropython import const

_ETIMEDOUT = const(110)
_ANSWER_MAX = const(1024)


class Answer:
    def __init__(self, status, body):
        self.status = status
        self.body = body  # text, at most _ANSWER_MAX bytes of it

    def json(self):
        import json

        try:
            return json.loads(self.body)
        except ValueError:
            return None


def split_url(url):
    """'http://host:port/prefix/' -> (host, port, '/prefix/')."""
    if not url.startswith("http://"):
        raise ValueError("only http:// URLs: %s" % url)
    rest = url[7:]
    i = rest.find("/")
    hostport, path = (rest, "/") if i < 0 else (rest[:i], rest[i:])
    j = hostport.rfind(":")
    if j < 0:
        return hostport, 80, path
    return hostport[:j], int(hostport[j + 1:]), path


class Client:
    def __init__(self, base_url, key, timeout_ms=3000, deadline_ms=5000, buf=None):
        self.host, self.port, self.prefix = split_url(base_url)
        self.key = key
        self.timeout_ms = timeout_ms
        self.deadline_ms = deadline_ms
        self.buf = buf if buf is not None else bytearray(512)
        self.addr = None

    def post(self, route, data=None, path=None, length=0):
        """POST bytes `data`, or the file at `path` (`length` bytes), to prefix + route.

        Returns an Answer; raises OSError when there is no answer in time (the caller retries).
        """
        import socket

        end = time.ticks_add(time.ticks_ms(), self.deadline_ms)
        if self.addr is None:
            self.addr = socket.getaddrinfo(self.host, self.port)[0][-1]
        if data is not None:
            length = len(data)
        s = socket.socket()
        try:
            self._timeout(s, end)
            try:
                s.connect(self.addr)
            except OSError:
                self.addr = None  # look the name up again next time (DHCP may have moved it)
                raise
            head = ("POST %s%s HTTP/1.0\r\nHost: %s\r\nContent-Type: application/json\r\n"
                    "Content-Length: %d\r\nConnection: close\r\n" %
                    (self.prefix, route, self.host, length))
            if self.key:
                head += "x-api-key: %s\r\n" % self.key
            self._send(s, (head + "\r\n").encode(), end)
            if data is not None:
                self._send(s, data, end)
            else:
                self._send_file(s, path, end)
            return self._answer(s, end)
        finally:
            s.close()

    def _timeout(self, s, end):
        left = time.ticks_diff(end, time.ticks_ms())
        if left <= 0:
            raise OSError(_ETIMEDOUT)
        s.settimeout(min(left, self.timeout_ms) / 1000)

    def _send(self, s, data, end):
        mv = memoryview(data)
        while mv:
            self._timeout(s, end)
            n = s.write(mv)
            if n is None:
                n = 0
            mv = mv[n:]

    def _send_file(self, s, path, end):
        buf = self.buf
        with open(path, "rb") as f:
            while True:
                n = f.readinto(buf)
                if not n:
                    return
                self._send(s, memoryview(buf)[:n], end)

    def _answer(self, s, end):
        got = b""
        while len(got) < _ANSWER_MAX:
            self._timeout(s, end)
            chunk = s.recv(256)
            if not chunk:
                break
            got += chunk
        line_end = got.find(b"\r\n")
        status_line = got[:line_end] if line_end >= 0 else got
        parts = status_line.split()
        if len(parts) < 2 or not parts[0].startswith(b"HTTP/"):
            raise OSError("not an HTTP answer: %r" % (status_line[:60],))
        i = got.find(b"\r\n\r\n")
        body = got[i + 4:] if i >= 0 else b""
        try:
            text = body.decode()
        except UnicodeError:
            text = ""
        return Answer(int(parts[1]), text)
