# A small MQTT 3.1.1 publisher for the Pico W (docs/protocol.md, "MQTT"): the same topics as
# the Pi meter (meter/delivery/mqtt.py), so Tempest's `mqtt-subscribe` takes both alike.
#
# Our own rather than micropython-umqtt.simple: umqtt's publish() wants the whole message as
# one bytes object, and a sealed day file (288 intervals x 4 channels: about 45 KB) does not
# fit the Pico W's heap beside the program. Here a day is streamed from flash in 512-byte
# pieces through one buffer allocated once; everything else is a few short packets.
#
#   connect()        CONNECT with the Last Will (retained {"state": "offline", "reason":
#                    "last gasp"} on <prefix>/<serial>/state), then the retained "online"
#   publish(...)     a short payload (heartbeat, event), QoS 0 or 1
#   publish_file()   a day file from flash, QoS 1, waiting for its PUBACK
#   ping()           PINGREQ from the main loop, so the broker keeps the session (and fires
#                    the Last Will 1.5 keepalives after the last one)
#
# Every wait is bounded by the socket's timeout; a broker that is down raises OSError, and the
# caller keeps the file in its outbox for a later try (the outbox's backoff, outbox.py).
# Optional and loaded only when the config has `mqtt`: nothing here is imported otherwise.

import os
import socket

from micropython import const

_CHUNK = const(512)
_PUBACK = const(0x40)


class MQTTError(OSError):
    pass


def _str(s):
    b = s.encode() if isinstance(s, str) else s
    return bytes((len(b) >> 8, len(b) & 0xFF)) + b


def _length(n):
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        out.append(byte | 0x80 if n else byte)
        if not n:
            return bytes(out)


class Publisher:
    def __init__(self, host, port, prefix, serial, client_id=None, user=None, password=None,
                 keepalive=60, timeout_s=5, buf=None):
        self.host, self.port = host, port
        self.prefix, self.serial = prefix, serial
        self.client_id = client_id or "meter-" + serial
        self.user, self.password = user, password
        self.keepalive, self.timeout_s = keepalive, timeout_s
        self.sock = None
        self.pid = 0
        # The only large buffer, reused for every file: the app lends its flash buffer.
        self.buf = buf if buf is not None else bytearray(_CHUNK)

    def topic(self, *parts):
        return "/".join((self.prefix, self.serial) + parts)

    def _write(self, data):
        mv = memoryview(data)
        done = 0
        while done < len(mv):
            n = self.sock.write(mv[done:])
            if not n:
                raise MQTTError("the broker stopped reading")
            done += n

    def _read(self, n):
        data = self.sock.read(n)
        if not data or len(data) != n:
            raise MQTTError("connection closed by the broker")
        return data

    def connect(self):
        will = '{"reason":"last gasp","serial":"%s","state":"offline"}' % self.serial
        flags = 0x02 | 0x04 | 0x08 | 0x20  # clean session, will, will QoS 1, will retain
        payload = _str(self.client_id) + _str(self.topic("state")) + _str(will)
        if self.user:
            flags |= 0x80
            payload += _str(self.user)
            if self.password:
                flags |= 0x40
                payload += _str(self.password)
        head = _str("MQTT") + bytes((4, flags, self.keepalive >> 8, self.keepalive & 0xFF))
        addr = socket.getaddrinfo(self.host, self.port)[0][-1]
        self.sock = socket.socket()
        self.sock.settimeout(self.timeout_s)
        try:
            self.sock.connect(addr)
            self._write(b"\x10" + _length(len(head) + len(payload)) + head + payload)
            ack = self._read(4)
        except OSError:
            self.close()
            raise
        if ack[0] != 0x20 or ack[3] != 0:
            self.close()
            raise MQTTError("broker refused the connection: %d" % ack[3])
        self.publish("state", '{"serial":"%s","state":"online"}' % self.serial, qos=1,
                     retain=True)

    def _header(self, topic, size, qos, retain):
        t = _str(topic)
        extra = 2 if qos else 0
        self._write(bytes((0x30 | (qos << 1) | (1 if retain else 0),)) +
                    _length(len(t) + extra + size) + t)
        if qos:
            self.pid = self.pid % 65535 + 1
            self._write(bytes((self.pid >> 8, self.pid & 0xFF)))

    def _await_puback(self):
        while True:
            kind = self._read(1)[0]
            n = self._read(1)[0]  # PUBACK and PINGRESP are short: one length byte
            body = self._read(n) if n else b""
            if kind & 0xF0 == _PUBACK and n == 2 and (body[0] << 8 | body[1]) == self.pid:
                return

    def publish(self, name, payload, qos=1, retain=False):
        """A short payload (str or bytes) on <prefix>/<serial>/<name>."""
        data = payload.encode() if isinstance(payload, str) else payload
        self._header(self.topic(name), len(data), qos, retain)
        self._write(data)
        if qos:
            self._await_puback()

    def publish_file(self, day, path):
        """A sealed day file on <prefix>/<serial>/day/<day>, streamed from flash, QoS 1.
        Returns once the broker acknowledged it; OSError otherwise."""
        size = os.stat(path)[6]
        self._header(self.topic("day", day), size, 1, False)
        mv = memoryview(self.buf)
        with open(path, "rb") as f:
            while True:
                n = f.readinto(self.buf)
                if not n:
                    break
                self._write(mv[:n])
        self._await_puback()

    def ping(self):
        self._write(b"\xc0\x00")
        if self._read(2)[0] != 0xD0:
            raise MQTTError("no PINGRESP")

    def disconnect(self):
        """A goodbye: the broker drops the Last Will."""
        try:
            self._write(b"\xe0\x00")
        finally:
            self.close()

    def close(self):
        if self.sock is not None:
            self.sock.close()
            self.sock = None
