# The way to Tempest for a Pico W on MQTT (config delivery.mode "mqtt"; docs/protocol.md,
# "MQTT"): what the outbox and the heartbeat call on app.client, answered over the broker by
# picometer/mqtt.py's Publisher instead of HTTP.
#
#   a sealed day (the outbox)   <prefix>/<serial>/day/<day>, QoS 1: "sent" once the broker's
#                               PUBACK is in; OSError otherwise, and the outbox keeps the file
#                               and backs off as for HTTP
#   a heartbeat                 <prefix>/<serial>/heartbeat, retained, QoS mqtt.qos
#   keep() from the main loop   (re)connects, then pings when nothing was sent for half the
#                               keepalive, so the Last Will ({"state": "offline", "reason":
#                               "last gasp"}, armed by every CONNECT) fires only if the Pico
#                               is really gone (power cut, crash, Wi-Fi lost)
#
# One connection, kept between steps. Any error closes it; the next try waits a backoff that
# doubles from 1 s to 64 s, so a broker that is down costs a failed connect now and then, not
# one per main-loop pass. Only imported by an MQTT meter (app.App), so an HTTP Pico pays no
# heap for this nor for picometer/mqtt.py.

import time

from micropython import const

_BACKOFF_MS = const(1000)
_BACKOFF_MAX_SHIFT = const(6)
_DAYS = "api/v1/days"
_HEARTBEATS = "api/v1/heartbeats"


class _Answer:
    # What the outbox and the heartbeat read of an answer: an HTTP-like status.
    body = b""

    def __init__(self, status):
        self.status = status

    def json(self):
        return None


class MqttLink:
    def __init__(self, serial, conf, buf):
        self.serial = serial
        self.conf = conf
        self.buf = buf
        self.pub = None
        self.failures = 0
        self.next_ms = time.ticks_ms()
        self.last_ms = 0  # the last packet sent: keep() pings after half the keepalive
        self.connects = 0
        self.last_error = None

    def _connected(self):
        if self.pub is not None:
            return self.pub
        if time.ticks_diff(time.ticks_ms(), self.next_ms) < 0:
            raise OSError("MQTT broker: waiting to reconnect (%s)" % self.last_error)
        from picometer.mqtt import Publisher

        c = self.conf
        pub = Publisher(c["host"], c["port"], c["prefix"], self.serial, c.get("client_id"),
                        c.get("user"), c.get("password"), c["keepalive_s"], c["timeout_s"],
                        self.buf)
        try:
            pub.connect()
        except OSError as e:
            self._failed(e)
            raise
        self.pub = pub
        self.failures = 0
        self.last_error = None
        self.connects += 1
        self.last_ms = time.ticks_ms()
        return pub

    def _failed(self, e):
        if self.pub is not None:
            self.pub.close()
            self.pub = None
        self.failures += 1
        self.last_error = "%s" % (e,)
        wait = _BACKOFF_MS << min(self.failures - 1, _BACKOFF_MAX_SHIFT)
        self.next_ms = time.ticks_add(time.ticks_ms(), wait)

    def post(self, route, data=None, path=None, length=0):
        """The outbox's and the heartbeat's request, over MQTT (OSError: not delivered)."""
        if route not in (_DAYS, _HEARTBEATS):
            return _Answer(404)  # the seed's routes have no MQTT topic
        pub = self._connected()
        try:
            if route == _DAYS:
                name = path[path.rfind("/") + 1:]
                pub.publish_file(name[len(self.serial) + 1:-5], path)
                status = 202
            else:
                pub.publish("heartbeat", data, qos=self.conf["qos"], retain=True)
                status = 200
        except OSError as e:
            self._failed(e)
            raise
        self.last_ms = time.ticks_ms()
        return _Answer(status)

    def keep(self):
        """From the main loop: connected (after the backoff), and pinged when idle. Never
        raises: a broker that is down is the normal case for a meter, not a crash to log on
        the flash; last_error says why (the heartbeat reports it once it gets through)."""
        try:
            if self.pub is None and time.ticks_diff(time.ticks_ms(), self.next_ms) < 0:
                return False
            pub = self._connected()
            if time.ticks_diff(time.ticks_ms(), self.last_ms) >= self.conf["keepalive_s"] * 500:
                pub.ping()
                self.last_ms = time.ticks_ms()
            return True
        except OSError as e:
            if self.pub is not None:
                self._failed(e)
            return False
