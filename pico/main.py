# The Pico W meter (docs/pico.md). Kept tiny, because a .py is compiled on the board at every
# boot: the program is picometer/ and the load model loadmodel/ (the code the Pi meter runs
# too), both compiled to .mpy by the deploy.
try:
    from picometer import start
except Exception as e:  # noqa: BLE001 - a missing or broken module: nothing else can report it
    import sys

    sys.print_exception(e)
    try:
        with open("/crash.log", "a") as f:
            f.write("--- boot: cannot load the program\n")
            sys.print_exception(e, f)
    except OSError:
        pass
else:
    app = start.boot()  # None in deploy hold or without a config: the REPL stays free
    # The boot code is not needed again until the next boot: unload it, freeing its heap.
    import sys

    import picometer

    del start, picometer.start, sys.modules["picometer.start"]
    if app is not None:
        app.run()
