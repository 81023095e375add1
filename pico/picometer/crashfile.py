# Writing the crash log (picometer/crashlog.py keeps the state: the last error, the counts):
# loaded only when there is something to write, and unloaded after it.

import sys

from micropython import const

LOG = "/crash.log"
OLD = "/crash.log.1"
_MAX_LOG = const(8192)


def record(log, exc, text, repeats):
    head = "--- %s up %ds %s" % (_stamp(log), log.uptime() if log.uptime else 0, text)
    if repeats:
        head += " (the previous error repeated %d more times)" % repeats
    print(head)
    sys.print_exception(exc)
    append(log, head + "\n", exc)


def note(log, text):
    append(log, "--- %s %s\n" % (_stamp(log), text))


def _stamp(log):
    if log.clock is not None and log.clock.valid():
        return log.clock.iso()
    return "(clock not set)"


def append(_log, text, exc=None):
    import os

    try:
        try:
            if os.stat(LOG)[6] > _MAX_LOG:
                os.rename(LOG, OLD[1:])  # relative target: see flashfs._to
        except OSError:
            pass
        with open(LOG, "a") as f:
            f.write(text)
            if exc is not None:
                sys.print_exception(exc, f)
    except OSError:
        pass  # a full flash: the error still goes out in the next heartbeat
