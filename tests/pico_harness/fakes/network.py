"""Fake `network` for the Pico W's CYW43 Wi-Fi, driven by the test.

WLAN(STA_IF): active([b]), connect(ssid, key), disconnect(), isconnected(), status([param]),
ifconfig([t]), ipconfig(key), config(key) / config(**kw), scan(). Like the real chip,
connect() returns at once; status() is STAT_CONNECTING until `connect_ms` of fake time
has passed, then STAT_GOT_IP or a failure code. The HTTP traffic itself goes over the host's
loopback: the fake socket refuses connections while no WLAN is connected.

Control knobs (control.json, section "wlan"), re-read while the program runs:
- "up": true        false: the access point is gone; a connected link drops (status
  STAT_CONNECT_FAIL, isconnected() False) and connect() attempts end in STAT_NO_AP_FOUND.
- "fail": 0         the next N connect() attempts fail (counted afresh whenever the
  control file is rewritten), with status "fail_status" (default STAT_NO_AP_FOUND).
- "ssid", "key"     when set, connect() with another ssid gives STAT_NO_AP_FOUND, with
  another key STAT_WRONG_PASSWORD.
- "connect_ms": 300 fake milliseconds from connect() to the outcome.
- "ip": "127.0.0.1" the address ifconfig() reports; "rssi": -58 what status("rssi") says.
Events: "wlan-connect <ssid>", "wlan-up", "wlan-fail <status>", "wlan-down".
"""

import _harness as _h

STA_IF = 0
AP_IF = 1
STAT_IDLE = 0
STAT_CONNECTING = 1
STAT_WRONG_PASSWORD = -3
STAT_NO_AP_FOUND = -2
STAT_CONNECT_FAIL = -1
STAT_GOT_IP = 3
_hostname = "PicoW"
_country = "XX"
_ifaces = {}


def hostname(name=None):
    global _hostname
    if name is None:
        return _hostname
    _hostname = name


def country(code=None):
    global _country
    if code is None:
        return _country
    _country = code


def _link_up():
    w = _ifaces.get(STA_IF)
    return w is not None and w.isconnected()


class WLAN:
    IF_STA = STA_IF
    IF_AP = AP_IF
    PM_NONE = 0x10
    PM_PERFORMANCE = 0xA11142
    PM_POWERSAVE = 0x11

    def __new__(cls, interface=STA_IF):
        # One object per interface, as on the device.
        w = _ifaces.get(interface)
        if w is None:
            w = object.__new__(cls)
            w._if = interface
            w._active = False
            w._status = STAT_IDLE
            w._since = 0
            w._ssid = None
            w._fail_with = None
            _ifaces[interface] = w
        return w

    def __init__(self, interface=STA_IF):
        pass

    def active(self, is_active=None):
        if is_active is None:
            return self._active
        self._active = bool(is_active)
        if not self._active:
            self._status = STAT_IDLE

    def connect(self, ssid=None, key=None, bssid=None):
        if not self._active:
            raise OSError("WLAN not active")
        self._ssid = ssid
        self._since = _h.ticks_ms()
        self._status = STAT_CONNECTING
        want_ssid = _h.knob("wlan", "ssid", None)
        want_key = _h.knob("wlan", "key", None)
        if not _h.knob("wlan", "up", True):
            self._fail_with = STAT_NO_AP_FOUND
        elif want_ssid is not None and ssid != want_ssid:
            self._fail_with = STAT_NO_AP_FOUND
        elif want_key is not None and key != want_key:
            self._fail_with = STAT_WRONG_PASSWORD
        elif _h.take_failure("wlan"):
            self._fail_with = _h.knob("wlan", "fail_status", STAT_NO_AP_FOUND)
        else:
            self._fail_with = None
        _h.event("wlan-connect", str(ssid))

    def disconnect(self):
        if self._status == STAT_GOT_IP:
            _h.event("wlan-down", "disconnect")
        self._status = STAT_IDLE

    def _update(self):
        if self._status == STAT_CONNECTING:
            waited = _h.rt.ticks_diff(_h.ticks_ms(), self._since)
            if waited >= _h.knob("wlan", "connect_ms", 300):
                if self._fail_with is None:
                    self._status = STAT_GOT_IP
                    _h.event("wlan-up")
                else:
                    self._status = self._fail_with
                    _h.event("wlan-fail", str(self._fail_with))
        elif self._status == STAT_GOT_IP and not _h.knob("wlan", "up", True):
            self._status = STAT_CONNECT_FAIL
            _h.event("wlan-down", "lost")

    def status(self, param=None):
        if param == "rssi":
            return _h.knob("wlan", "rssi", -58)
        if param is not None:
            raise ValueError("unknown status param")
        self._update()
        return self._status

    def isconnected(self):
        self._update()
        return self._active and self._status == STAT_GOT_IP

    def ifconfig(self, t=None):
        if t is not None:
            return
        if not self.isconnected():
            return ("0.0.0.0", "0.0.0.0", "0.0.0.0", "0.0.0.0")
        ip = _h.knob("wlan", "ip", "127.0.0.1")
        return (ip, "255.255.255.0", ip, ip)

    def ipconfig(self, key):
        if key == "addr4":
            c = self.ifconfig()
            return (c[0], c[1])
        raise ValueError("unknown config param")

    def config(self, *args, **kw):
        if kw:
            return
        key = args[0]
        if key == "mac":
            return b"\x28\xcd\xc1\x00\x00\x01"
        if key == "ssid":
            return self._ssid
        if key == "hostname":
            return _hostname
        if key == "pm":
            return self.PM_POWERSAVE
        raise ValueError("unknown config param")

    def scan(self):
        if not _h.knob("wlan", "up", True):
            return []
        name = _h.knob("wlan", "ssid", "meters-lab")
        return [(name.encode(), b"\x00\x11\x22\x33\x44\x55", 6, -58, 3, 1)]
