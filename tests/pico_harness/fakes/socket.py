"""Fake `socket`: the unix port's real sockets, gated by the fake Wi-Fi, shaped like lwIP's.

Real traffic goes over the host's loopback, so HTTP to a test server is real. What differs:
- connect() raises OSError(EHOSTUNREACH) while no fake WLAN is connected (a Pico W has no
  network without Wi-Fi); getaddrinfo() raises OSError(-2) then too, for a host name.
- getaddrinfo() returns (family, type, proto, '', (ip, port)) like the Pico's lwIP, and
  connect()/sendto()/bind() accept that (ip, port) tuple; the unix port itself wants the
  opaque sockaddr bytes. So `s.connect(socket.getaddrinfo(h, p)[0][-1])` works on both.

Control knobs (control.json, section "socket"):
- "gate": true   false: sockets work without a connected WLAN (for tests of HTTP code alone).
Events: "socket-refused <ip> <port>" when the gate refuses a connection.
"""

import _harness as _h

_s = _h.builtin("socket")
for _n in dir(_s):
    if not _n.startswith("_"):
        globals()[_n] = getattr(_s, _n)
del _n

_EHOSTUNREACH = 113


def _gated():
    return _h.knob("socket", "gate", True) and not _h.link_up()


def _is_ip(host):
    parts = host.split(".")
    return len(parts) == 4 and all(p.isdigit() for p in parts)


def getaddrinfo(host, port, af=0, type=0, proto=0, flags=0):
    if _gated() and not _is_ip(host):
        raise OSError(-2)
    out = []
    for fam, typ, pro, _, addr in _s.getaddrinfo(host, port, af, type, proto, flags):
        if fam == _s.AF_INET:
            b = bytes(addr)
            ip = "%d.%d.%d.%d" % (b[4], b[5], b[6], b[7])
            out.append((fam, typ, pro, "", (ip, (b[2] << 8) | b[3])))
    return out


def _raw(addr):
    if isinstance(addr, tuple):
        return _s.getaddrinfo(addr[0], addr[1])[0][-1]
    return addr


class socket(_s.socket):
    def connect(self, addr):
        if _gated():
            where = "%s %s" % addr if isinstance(addr, tuple) else ""
            _h.event("socket-refused", where)
            raise OSError(_EHOSTUNREACH)
        return super().connect(_raw(addr))

    def bind(self, addr):
        return super().bind(_raw(addr))

    def sendto(self, data, addr):
        if _gated():
            raise OSError(_EHOSTUNREACH)
        return super().sendto(data, _raw(addr))
