# Building the App and its Recorder: done once per boot, so a module of its own that the App
# unloads once it is built (like start.py): the constructors' code, and the option names they
# read, hold no heap while the main loop runs (docs/pico.md, "Where the heap goes").
#
# app() and recorder() set the attributes App.__init__ and Recorder.__init__ document. Nothing
# built here may keep a reference into this module (no closure, no lambda): it would keep the
# whole module alive.

import gc

from picometer import crashlog, forget

REGISTERS = "/registers.txt"
# The config keys the Ticker keeps reading once the model is built (the rest is dropped).
_TICKER_KEYS = ("serial", "interval", "channels", "timezone", "generator_json", "metadata_json")


def app(self, wdt, cfg, tz, opts, creds, reset_cause, crash):
    """App.__init__: the flash layer, the Recorder, the network parts (or demo mode's clock),
    the outbox, the LED and the display, from config.json's sections."""
    import time

    from picometer.app import ROOT, Beats, Link

    self.wdt = wdt
    self.crash = crash
    self.reset_cause = reset_cause
    self._up_ms = 0
    self._up_s = 0
    self._last_ms = time.ticks_ms()
    self._first = True
    crash.uptime = self.uptime_s
    self.feed()
    self.demo = opts.get("demo", False)
    self.display = None
    self.readings = None
    show = dev = None
    if self.demo or opts.get("display", "none") != "none":
        from picometer import show

        # The display's frame buffers first, then the model, while the heap is emptiest:
        # they are the biggest parts by far.
        dev = show.panel(opts.get("display", "none"), crash)
    from picometer.flashfs import FlashFS
    from picometer.recorder import Recorder

    self.fs = FlashFS()
    self.recorder = Recorder(cfg, tz, self.fs, ROOT, opts.get("max_intervals", 12),
                             False, self.feed)
    self.feed()
    self.serial = cfg["serial"]
    self.demo_keep = opts.get("demo_keep", 7)
    self.wifi = None
    self.client = None
    self.link = None  # the MQTT link, on an MQTT meter: kept alive from the loop
    self.heartbeat = None
    if self.demo:
        self.clock = show.demo_clock(self.recorder, opts)
    else:
        from picometer import http

        self.clock = clock(opts.get("ntp_host", "pool.ntp.org"), opts.get("ntp_timeout_s", 1),
                           opts.get("ntp_resync_s", 21600))
        ssid, password, key = creds
        self.wifi = wifi(ssid, password, opts.get("hostname"))
        if opts.get("mqtt"):
            # delivery.mode "mqtt": days and heartbeats go to the broker. Imported only
            # here, so an HTTP meter holds no heap for the MQTT modules.
            forget("picometer.http")
            from picometer.mqttlink import MqttLink

            self.client = self.link = MqttLink(self.serial, opts["mqtt"], self.fs.buf)
        else:
            http.split_url(opts["tempest_url"])  # a bad URL fails the start, not an upload
            forget("picometer.http")
            self.client = Link(opts["tempest_url"], key, opts.get("http_timeout_ms", 3000),
                               opts.get("http_deadline_ms", 5000), self.fs.buf)
        self.heartbeat = Beats(self.serial, opts.get("version", ""), opts.get("config_hash"))
    crash.clock = self.clock
    self.outbox = outbox(self.fs, ROOT, self.serial, self.client,
                         opts.get("backoff_max_s", 3600), opts.get("sent_keep", 3))
    self.hb_ms = opts.get("heartbeat_s", 60) * 1000
    self.hb_next = time.ticks_ms()
    self.hb_on = opts.get("heartbeat", True) and not self.demo
    self.feed()
    if show is not None:
        show.attach(self, cfg, opts, dev)
    self.led = None
    if opts.get("led", True):
        from picometer.led import Led

        self.led = Led()
    self.idle_ms = opts.get("idle_ms", 1000)
    self.guard = guard(self.uptime_s)
    self.retry = {}  # step -> (failures, ticks_ms when it may run again)
    self.failing = False
    self.last_tick = None
    # Collect after every 16 KiB allocated rather than when the heap runs out: garbage is
    # freed while it is still small, so long-lived objects are not scattered across a
    # nearly full heap (fragmentation is what ends a MicroPython program that runs for
    # weeks, not the live size).
    gc.threshold(16 * 1024)


# The constructors of the App's parts (their classes have none: the code would stay in the
# heap for the whole run). Each class's docstring names what it holds.

def clock(host, timeout_s, resync_s):
    """A Clock (picometer/clock.py) asking `host` for the time, not yet set."""
    import time

    from picometer import clock

    c = clock.Clock()
    c.host = host
    c.timeout_s = timeout_s
    c.resync_ms = resync_s * 1000
    c.offset = clock.epoch_offset()
    c.synced = False
    c.failures = 0
    c.next_ms = time.ticks_ms()  # when the next request is due
    c.last_error = None
    return c


def wifi(ssid, password, hostname=None):
    """A Wifi (picometer/wifi.py) for `ssid`, not yet connecting."""
    import time

    import network

    from picometer import wifi

    w = wifi.Wifi()
    w.network = network
    w.ssid = ssid
    w.password = password
    if hostname:
        try:
            network.hostname(hostname)
        except (AttributeError, ValueError, OSError):
            pass
    w.wlan = network.WLAN(network.STA_IF)
    w.up = False
    w.connecting = False
    w.since = 0
    w.failures = 0
    w.next_ms = time.ticks_ms()
    w.last_error = None
    w.drops = 0
    return w


def outbox(fs, root, serial, client, backoff_max_s=3600, sent_keep=3, rejected_keep=10):
    """An Outbox (picometer/outbox.py) over the flash's outbox/, to be counted."""
    import time

    from picometer.outbox import Outbox

    o = Outbox()
    o.fs = fs
    o.root = root
    o.serial = serial
    o.client = client
    o.backoff_max_ms = backoff_max_s * 1000
    o.sent_keep = sent_keep
    o.rejected_keep = rejected_keep
    o.failures = 0
    o.next_ms = time.ticks_ms()
    o.last_error = None
    o.seed_route = False  # this Tempest has no /api/v1/days: use the seed's /update
    o.sent = 0
    o.rejected = 0
    o.count = None
    return o


def guard(uptime_s):
    """A crashlog.Guard on a one-shot machine.Timer."""
    import machine

    g = crashlog.Guard()
    g.uptime_s = uptime_s
    g.timer = machine.Timer()
    g.mode = machine.Timer.ONE_SHOT
    g.step = None
    g.late = False
    return g


def recorder(self, cfg, tz_columns, fs, root, max_intervals, write_open, feed):
    """Recorder.__init__: the model, its Ticker on the flash, the modules to unload after
    each tick; the config cut to what the Ticker reads."""
    from array import array

    from core.tz import Zone

    # The zone's columns as arrays of 32- and 16-bit ints, not the lists json.load built (which
    # grow by doubling: the 70-odd transitions take 128 words each, 2 KiB in the 64-bit build;
    # as arrays 0.5 KiB). The first start ("all time before") becomes -2**30 minutes, some
    # 2,000 years before 1970, to fit (and to stay a small int in a 32-bit build).
    starts = tz_columns[0]
    starts[0] = max(starts[0], -(1 << 30))
    zone = Zone.from_columns(cfg["timezone"], array("i", starts), array("h", tz_columns[1]))
    from loadmodel.engine import MeterModel

    self.model = MeterModel(cfg, zone)
    if cfg["load_model"] == "household":
        from loadmodel import household_setup

        household_setup.compact(self.model.load)  # its hourly tables as bytes
    gc.collect()
    if feed:
        feed()
    from loadmodel.ticker import Ticker

    self.fs = fs
    self.root = root
    self.n = cfg["interval"]
    self.fallback = cfg["initial_registers_wh"]
    # buffer_rows=False: each day file streams from the journal on flash, once per channel
    # (with dayfile_writer.labeller that is as fast as buffering, and no day in memory).
    sensors = None
    if cfg.get("sensors"):
        from picometer.sensors import Sensors  # only a sensor meter holds it in its heap

        sensors = Sensors(cfg)
    self.ticker = Ticker(self.model, cfg, fs, root, self.opening, buffer_rows=False,
                         sensors=sensors)
    # Not on a sensor meter: its sensors (loadmodel/sensors.py) hold the weather's and the
    # fixed-point code for good, and an unloaded module would be loaded twice.
    # The sealer and the day-file writer are needed only to seal a day (the Ticker
    # imports them there), the household's setup only to build it.
    # This module itself comes back for a new meter's first tick (opening()).
    names = ["loadmodel.sealer", "core.dayfile_writer", "loadmodel.journal_reader",
             "picometer.flashwrite", "loadmodel.engine_setup", "loadmodel.household_setup",
             "picometer.build"]
    plan_only = getattr(self.model.load, "plan_only_modules", None)
    if plan_only is not None and sensors is None:
        names.extend(plan_only())
        if "loadmodel.sun" in names and "loadmodel.climate" in names:
            names.append("loadmodel.fixed")  # only they import it
    self.unload = tuple(names)
    # The model has read what it needs; the Ticker keeps reading only these few keys.
    for key in list(cfg):
        if key not in _TICKER_KEYS:
            del cfg[key]
    # A copy: a dict keeps the table of its largest size after deletions (the config's
    # 27 keys: about 1.7 KiB in the 64-bit build; the copy of six, a tenth of it).
    self.ticker.cfg = dict(cfg)
    self.max_intervals = max_intervals
    self.write_open = write_open
    self.pending = True  # work may be left from before the reset: tick at once
    self.done = None  # the UTC minute up to which every interval is accounted for
    self.fails = 0
    from picometer import flashwrite

    for folder in ("", "/data", "/outbox", "/held", "/sent", "/rejected"):
        flashwrite.clean_tmp(root + folder if root + folder else "/")
    names.remove("picometer.build")  # not this module yet: the App unloads it once built
    forget(*names)


def opening(self, day):
    """Recorder.opening: the opening registers (Wh) of `day` for a meter with no state yet,
    from the table the deploy rendered with the vectorised engine (meter/pico_config.py), so
    they are the registers the Pi meter would have; past its end, its last row."""
    best = None
    try:
        for line in self.fs.read_lines(REGISTERS):
            parts = line.split()
            if not parts or parts[0].startswith("#"):
                continue
            d = int(parts[0])
            if d > day and best is not None:
                break
            best = [int(v) for v in parts[1:]]
            if d >= day:
                break
    except (OSError, ValueError):
        best = None
    if best is None or len(best) != len(self.fallback):
        return list(self.fallback)
    return best
