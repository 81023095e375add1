# Boot the unix-port MicroPython like a Pico: run from the host path by the runner and the
# virtual Pico, before the program sees anything.
#   micropython [-i] -X heapsize=128K _start.py FLASH HDIR MODE KIND TARGET
# It maps the flash folder onto "/" (VfsPosix), the harness folder onto "/.harness" (and a
# ROMFS image, if the harness folder has rom.img, onto "/rom"), sets sys.path as on a Pico
# plus the fakes, then:
#   MODE run       KIND boot: boot.py then main.py | script: a file | module: import
#                  (exceptions propagate: exit status 1 and a traceback, as in the runner)
#   MODE friendly  boot.py then main.py, errors printed, then the REPL (the virtual Pico)
#   MODE raw       boot.py only, then a marker for the virtual Pico to enter the raw REPL
# SystemExit in friendly/raw mode is a soft reset request: exit status 99.
import sys


def _boot():
    import gc
    import os
    import vfs

    flash, hdir, mode, kind, target = sys.argv[1:6]
    vfs.umount("/")
    vfs.mount(vfs.VfsPosix(flash), "/")
    vfs.mount(vfs.VfsPosix(hdir), "/.harness")
    os.chdir("/")
    sys.path[:] = ["", ".frozen", "/lib", "/.harness/fakes"]
    sys.argv[:] = []
    # A ROMFS partition: rom.img in the harness folder stands for the flash partition that a
    # firmware built with one mounts at /rom, appending "/rom" and "/rom/lib" to sys.path, and
    # from which an .mpy's bytecode and names are used in place (docs/pico.md). The unix port
    # has no such flash, so the image is read into the heap here, before heap-base: it counts
    # with the harness, as it is outside the heap on a Pico, never with the program.
    try:
        with open("/.harness/rom.img", "rb") as f:
            rom = f.read()
    except OSError:
        rom = b""
    if rom:
        vfs.mount(vfs.VfsRom(rom), "/rom")
        sys.path[3:3] = ["/rom", "/rom/lib"]
    del rom
    g = globals()

    def run_file(path, must=False):
        try:
            os.stat(path)
        except OSError:
            if must:
                raise
            return
        with open(path) as f:
            src = f.read()
        code = compile(src, path, "exec")
        del src
        exec(code, g)

    gc.collect()
    try:
        with open("/.harness/state/events.log", "a") as f:
            f.write("0 heap-base %d\n" % gc.mem_alloc())
    except OSError:
        pass

    if mode == "run":
        if kind == "boot":
            run_file("boot.py")
            run_file("main.py")
        elif kind == "script":
            run_file(target, True)
        else:
            __import__(target)
        return

    try:
        run_file("boot.py")
        if mode == "friendly":
            run_file("main.py")
    except SystemExit:
        sys.exit(99)
    except BaseException as e:  # noqa: B036 - the device prints any error, then its REPL
        sys.print_exception(e)
    if mode == "raw":
        sys.stdout.write("\x00vpico-raw\x00")


_boot()
del _boot
