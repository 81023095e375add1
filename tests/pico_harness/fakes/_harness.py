# Shared state of the MicroPython fakes: the control file, the event log, the fake clock and
# the watchdog/timer hooks. Not a fake itself: the Pico program must never import it.
#
# Layout seen from inside MicroPython (set up by _start.py):
#   /                     the flash folder (VfsPosix)
#   /.harness/control.json  knobs written by the test (see the docstring of each fake)
#   /.harness/state/      written here: events.log, wdt (feed stamp), reset_cause
#   /.harness/fakes/      this folder, last on sys.path
#
# Everything here is small on purpose: it shares the heap with the program under test.
import gc
import os
import sys

HDIR = "/.harness"
CONTROL = HDIR + "/control.json"
STATE = HDIR + "/state"
BOOT_EPOCH = 1609459200  # 2021-01-01 00:00:00 UTC: what the RP2040 RTC holds before NTP


def builtin(name):
    # A file on sys.path shadows a built-in module of the same name (time, socket, machine).
    # With sys.path empty, the import falls back to the built-in one; the fake stays the
    # module that everyone else gets.
    saved = sys.path[:]
    mine = sys.modules.pop(name, None)
    del sys.path[:]
    try:
        mod = __import__(name)
    finally:
        sys.path.extend(saved)
        if mine is not None:
            sys.modules[name] = mine
        else:
            sys.modules.pop(name, None)
    return mod


rt = builtin("time")

# ---- control file -------------------------------------------------------------------------
# Re-read when the file's (inode, size, mtime) changes; the writer replaces it atomically, so
# every write has a new inode. Checked at most every 50 ms of real time to keep stat() calls,
# which allocate, off the hot path.
_ctl = {}
_sig = None
_checked = None
_used = {}  # "section.key" -> failures already served since the control file last changed


def control(section):
    global _ctl, _sig, _checked
    now = rt.ticks_ms()
    if _checked is None or rt.ticks_diff(now, _checked) >= 50:
        _checked = now
        try:
            st = os.stat(CONTROL)
            sig = (st[1], st[6], st[8])
        except OSError:
            sig = None
        if sig != _sig:
            _sig = sig
            _used.clear()
            _ctl = {}
            if sig is not None:
                import json

                try:
                    with open(CONTROL) as f:
                        _ctl = json.load(f)
                except (OSError, ValueError):
                    _ctl = {}
    return _ctl.get(section) or {}


def knob(section, key, default):
    v = control(section).get(key)
    return default if v is None else v


def take_failure(section, key="fail"):
    # True while fewer than control[section][key] failures have been served.
    n = knob(section, key, 0)
    k = section + "." + key
    used = _used.get(k, 0)
    if used < n:
        _used[k] = used + 1
        return True
    return False


# ---- event log ----------------------------------------------------------------------------
def event(kind, detail=""):
    # One line per event, read by the host (runner.Result.events); never printed, so the
    # raw REPL protocol on the virtual Pico's serial line stays clean.
    try:
        with open(STATE + "/events.log", "a") as f:
            f.write("%d %s %s\n" % (uptime_ms(), kind, detail))
    except OSError:
        pass


# ---- fake clock ---------------------------------------------------------------------------
# ticks and wall time = host clock + skip_ms (time "fast-forwarded" by sleeps in fast mode).
# Wall time is BOOT_EPOCH + uptime until something sets it (ntptime, RTC.datetime()).
skip_ms = 0
wall_off_ns = None
_boot_ns = rt.time_ns()
_boot_ticks = rt.ticks_ms()
# Ticks wrap at the port's small-int range: 2**30 on a 32-bit build, as on a Pico (ms: 12
# days), 2**62 on a 64-bit one. ticks_add() takes a step of at most half of it, so a skip of
# weeks is added modulo the period.
_PERIOD = rt.ticks_add(0, -1) + 1


def ticks_step(d):
    """d as a step ticks_add() takes: the same point of the ticks' circle."""
    d %= _PERIOD
    return d - _PERIOD if d >= _PERIOD // 2 else d


def ticks_ms():
    return rt.ticks_add(rt.ticks_ms(), ticks_step(skip_ms))


def uptime_ms():
    return rt.ticks_diff(ticks_ms(), _boot_ticks)


def world_ns():
    # The true time of the simulated world (what NTP serves): the host's, or control
    # clock.world (epoch seconds at boot), plus the fast-forwarded sleeps.
    t = rt.time_ns() + skip_ms * 1000000
    start = knob("clock", "world", None)
    if start is not None:
        t += start * 1000000000 - _boot_ns
    return t


def wall_ns():
    # What the device believes: BOOT_EPOCH + uptime until set, then world time + offset.
    if wall_off_ns is None:
        return BOOT_EPOCH * 1000000000 + rt.time_ns() + skip_ms * 1000000 - _boot_ns
    return world_ns() + wall_off_ns


def set_wall(epoch_s):
    global wall_off_ns
    wall_off_ns = epoch_s * 1000000000 - world_ns()
    event("clock-set", str(epoch_s))


def fast():
    return knob("clock", "fast", False)


# ---- hooks run while the program sleeps or feeds the watchdog -----------------------------
# The watchdog deadline (ticks) and soft timers live here so that the fake time.sleep can
# fire them at the right fake moment without importing machine.
wdt_deadline = None  # ticks_ms by which the watchdog must be fed, or None when not started
timers = []  # machine.Timer objects with a callback
heap_peak = 0
_heap_logged = 0


def next_due(end):
    # The earliest of end, the watchdog deadline and the next timer, as a ticks value.
    t = end
    if wdt_deadline is not None and rt.ticks_diff(wdt_deadline, t) < 0:
        t = wdt_deadline
    for tm in timers:
        if rt.ticks_diff(tm._due, t) < 0:
            t = tm._due
    return t


def poll():
    # Fire what is due now: expired watchdog (resets the device), then due soft timers.
    now = ticks_ms()
    if wdt_deadline is not None and rt.ticks_diff(now, wdt_deadline) > 0:
        wdt_expired(rt.ticks_diff(now, wdt_deadline))
    for tm in timers[:]:
        if rt.ticks_diff(now, tm._due) >= 0:
            tm._fire(now)


def wdt_expired(late_ms):
    global wdt_deadline
    event("wdt-expired", "late_ms=%d" % late_ms)
    if knob("wdt", "enforce", True):
        hard_reset("wdt")
    wdt_deadline = None  # not enforced: logged once; the next feed() arms it again


def sample_heap():
    # Live heap (after a collection) at a fixed point of the program's loop; the high-water
    # mark goes to the event log whenever it grows by 256 bytes or more.
    global heap_peak, _heap_logged
    if not knob("heap", "sample", True):
        return
    gc.collect()
    a = gc.mem_alloc()
    if a > heap_peak:
        heap_peak = a
        if a - _heap_logged >= 256:
            _heap_logged = a
            event("heap", str(a))


def _flush_heap():
    if heap_peak > _heap_logged:
        event("heap", str(heap_peak))


# ---- resets -------------------------------------------------------------------------------
PWRON_RESET = 1
WDT_RESET = 3
SIGNALS = {"reset": "USR1", "wdt": "USR2"}


def hard_reset(why):
    # A real reset runs no finally blocks and flushes nothing, so the process is killed by a
    # signal from outside (the runner and the virtual Pico read USR1 as machine.reset(),
    # USR2 as the watchdog). reset_cause() of the next boot reads the file written here.
    _flush_heap()
    event("reset", why)
    try:
        with open(STATE + "/reset_cause", "w") as f:
            f.write(str(WDT_RESET))
    except OSError:
        pass
    os.system("kill -s %s $PPID" % SIGNALS[why])
    raise SystemExit(200)  # only reached if the kill failed


def reset_cause():
    try:
        with open(STATE + "/reset_cause") as f:
            return int(f.read())
    except (OSError, ValueError):
        return PWRON_RESET


def link_up():
    # True while a fake WLAN is connected; the fake socket refuses to connect otherwise.
    net = sys.modules.get("network")
    return net is not None and net._link_up()


sys.atexit(_flush_heap)
