# Recovery after a failed tick (Recorder.failed). A full flash (ENOSPC): delivered and
# rejected day files are pruned, never the outbox; the intervals the tick could not write are
# recomputed later (the model is a pure function of time).
# A tick that fails the same way twice in a row with a ValueError: a file the Ticker cannot
# parse (a journal or a held day's release note garbled by a flash fault) is set aside so the
# meter carries on; nothing sealed is lost:
#   data/<day>.journal  -> data/<day>.journal.bad (the newest kept); the Ticker then rebuilds
#                         the open day from state.json, recomputing every interval (the model
#                         is a pure function of time, so the values are the same)
#   held/<x>.release    -> removed, and its held day goes to the outbox at once
# Imported only when needed and unloaded after, so its code costs no heap the rest of the time.

from micropython import const

_ENOSPC = const(28)


def after_failed_tick(rec, exc, outbox, log):
    """What the Recorder `rec` does after a tick failed with `exc` (an OSError or ValueError):
    make room on a full flash; set a file aside at the second ValueError in a row."""
    if isinstance(exc, OSError):
        if exc.args and exc.args[0] == _ENOSPC:
            freed = outbox.prune("sent", 0) + outbox.prune("rejected", 1)
            log.note("flash full: removed %d delivered or rejected day files" % freed)
        return
    if rec.fails >= 2:
        set_aside(rec.fs, rec.root, log)
        rec.fails = 0


def set_aside(fs, root, log):
    data = root + "/data"
    for name in fs.listdir(data):
        if name.endswith(".bad"):
            fs.remove(data + "/" + name)  # only the newest set-aside file is kept
    for name in fs.listdir(data):
        if name.endswith(".journal"):
            fs.rename(data + "/" + name, data + "/" + name + ".bad")
            log.note("set aside data/%s (unreadable); the day is rebuilt" % name)
    held = root + "/held"
    outbox = root + "/outbox"
    for name in fs.listdir(held):
        if not name.endswith(".release"):
            continue
        try:
            int(fs.read_text(held + "/" + name).split()[0])
            continue
        except (ValueError, IndexError):
            pass
        day_file = name[:-8]
        if fs.exists(held + "/" + day_file):
            final = day_file[:-9] + ".json" if day_file.endswith(".dup.json") else day_file
            if fs.exists(outbox + "/" + final):
                fs.remove(held + "/" + day_file)
            else:
                fs.rename(held + "/" + day_file, outbox + "/" + final)
        fs.remove(held + "/" + name)
        log.note("released held/%s now (its release note was unreadable)" % day_file)
