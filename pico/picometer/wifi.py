# Wi-Fi as a state machine polled from the main loop: it never waits for the radio.
#
# WLAN.connect() returns at once on the Pico W and status() reports progress, so poll() only
# looks: it starts a connection when one is due, notices when it came up, failed or timed out,
# and notices a link that dropped. Failures back off exponentially, capped (a meter must not
# hammer a dead access point, nor give up on it): 2 s, 4 s, 8 s ... up to 5 minutes.

import time

from micropython import const

_CONNECT_MS = const(20000)  # longest a connection attempt may take
_FIRST_RETRY_MS = const(2000)
_MAX_RETRY_MS = const(300000)


class Wifi:
    """The Wi-Fi link. Built by picometer/build.py (build.wifi): network (the module),
    ssid, password, wlan (the STA interface), up, connecting, since, failures, next_ms,
    last_error, drops."""

    def poll(self):
        """Advance the state machine; returns True while the link is up."""
        w = self.wlan
        now = time.ticks_ms()
        if self.up:
            if w.isconnected():
                return True
            self.up = False
            self.drops += 1
            self.last_error = "wifi: link lost (status %s)" % (w.status(),)
            self._retry_later(now)
            return False
        if self.connecting:
            st = w.status()
            if st == self.network.STAT_GOT_IP or w.isconnected():
                self.connecting = False
                self.up = True
                self.failures = 0
                self.last_error = None
                return True
            if st == self.network.STAT_CONNECTING or st == 1:
                if time.ticks_diff(now, self.since) < _CONNECT_MS:
                    return False
                self.last_error = "wifi: no connection within %d s" % (_CONNECT_MS // 1000)
            else:
                self.last_error = "wifi: connect failed (status %s)" % (st,)
            self.connecting = False
            try:
                w.disconnect()
            except OSError:
                pass
            self._retry_later(now)
            return False
        if time.ticks_diff(now, self.next_ms) < 0:
            return False
        if not w.active():
            w.active(True)
        w.connect(self.ssid, self.password)
        self.connecting = True
        self.since = now
        return False

    def _retry_later(self, now):
        self.failures += 1
        wait = _FIRST_RETRY_MS << min(self.failures - 1, 10)
        self.next_ms = time.ticks_add(now, min(wait, _MAX_RETRY_MS))

    def address(self):
        try:
            return self.wlan.ifconfig()[0]
        except (OSError, AttributeError):
            return None
