# The Pico W meter program (docs/pico.md); main.py runs picometer.app.run().


def forget(*names):
    """Unload modules needed only now and then (the HTTP client for an upload or a heartbeat):
    their code leaves the heap until the next import loads it from the flash again (their
    names stay interned). Nothing may keep a reference to what they define."""
    import sys

    for name in names:
        if sys.modules.pop(name, None) is None:
            continue
        i = name.rfind(".")
        parent = sys.modules.get(name[:i]) if i > 0 else None
        if parent is not None and name[i + 1:] in parent.__dict__:
            delattr(parent, name[i + 1:])
