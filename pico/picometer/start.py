# Booting the Pico W meter: what runs once per boot, in a module main.py unloads afterwards
# (its code would otherwise hold heap for good).
#
#   reset cause and crash notes -> deploy hold? -> config.json + secrets.py -> watchdog -> App
#
# Deploy hold: while /deploy.hold exists the program does not start, and so does not start the
# watchdog, which nothing can stop once started and which survives mpremote's soft resets: the
# deploy tool (roles/pico) sets the flag, resets, copies files, removes the flag and resets
# again. Without a usable config the program does not start either: the board stays at its
# REPL, where mpremote can reach it, instead of resetting in a loop.

from micropython import const

HOLD = "/deploy.hold"
CONFIG = "/config.json"
_WDT_MS = const(8000)  # the RP2040's watchdog allows 8388 ms at most


def _exists(path):
    import os

    try:
        os.stat(path)
        return True
    except OSError:
        return False


def load_config(path=CONFIG):
    """(model config, zone columns, Pico options) from config.json (meter/pico_config.py)."""
    import json

    with open(path) as f:
        doc = json.load(f)
    return doc["model"], doc["tz"], doc["pico"]


def load_secrets():
    """(ssid, password, API key) from secrets.py, which the deploy writes from the vault."""
    import secrets
    import sys

    out = (getattr(secrets, "SSID", None), getattr(secrets, "PASSWORD", None),
           getattr(secrets, "API_KEY", None))
    del sys.modules["secrets"]
    return out


def _take_note(path):
    """The text of a note file, which is removed (None if there is none)."""
    import os

    try:
        with open(path) as f:
            text = f.read().strip()
    except OSError:
        return None
    try:
        os.remove(path)
    except OSError:
        pass
    return text


def reset_cause(crash, cause):
    """The reset cause as heartbeats report it. A watchdog reset that the program did not ask
    for is logged with the step that hung, if a step was seen running late (crashlog.Guard)."""
    from picometer import crashlog

    note = _take_note(crashlog.RESET_NOTE)
    hang = _take_note(crashlog.HANG_NOTE)
    if cause == 1:  # PWRON_RESET
        return "power-on"
    if cause != 3:  # WDT_RESET: the RP2040's machine.reset() also reboots through it
        return "reset(%d)" % cause
    if note:
        if note.startswith("fatal"):
            crash.last_error = note
        return "reset: " + note  # the program's own reset, or the deploy tool's
    if hang:
        text = "watchdog reset: %s" % hang
    else:
        text = "watchdog reset: no step was seen running late (a hang in the main loop?)"
    crash.last_error = text
    crash.write("append", "--- boot after a watchdog reset\n" + text + "\n")
    return "watchdog"


def boot():
    """The App, ready to run; None in deploy hold or without a usable config."""
    import os

    import machine

    from picometer import crashlog

    os.chdir("/")  # flashfs renames relative to it
    crash = crashlog.CrashLog()
    cause = reset_cause(crash, machine.reset_cause())
    if _exists(HOLD):
        print("picometer: %s exists: deploy hold, not starting" % HOLD)
        from picometer.led import Led

        Led().set(True)
        return None
    try:
        cfg, tz, opts = load_config()
        # A demo meter never uses the network: it needs no Wi-Fi or key (docs/pico.md).
        creds = (None, None, None) if opts.get("demo") else load_secrets()
    except Exception as e:  # noqa: BLE001 - a missing or broken config: wait for a deploy
        crash.record(e, "config")
        print("picometer: no usable config.json / secrets.py: not starting")
        return None
    print("picometer: %s starting (reset cause: %s)" % (cfg["serial"], cause))
    wdt = machine.WDT(timeout=_WDT_MS)
    try:
        from picometer.app import App

        return App(wdt, cfg, tz, opts, creds, cause, crash)
    except Exception as e:  # noqa: BLE001 - e.g. MemoryError while loading the model
        # The watchdog runs already: log, then a clean reset a few seconds later (not a
        # tight loop of resets writing to the flash).
        import time

        text = crash.record(e, "start")
        crashlog.write_note(crashlog.RESET_NOTE, "fatal error: " + text[:200])
        for _ in range(20):
            time.sleep_ms(250)
            wdt.feed()
        machine.reset()
