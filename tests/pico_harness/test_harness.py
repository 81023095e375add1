"""The MicroPython test harness itself: interpreter, heap cap, fakes, mpy-cross, vpico."""

from __future__ import annotations

import http.server
import os
import textwrap
import threading
import time
from pathlib import Path

import pytest

from tests.support import ci_guard

from . import runner
from .harnessdir import PWRON_RESET, WDT_RESET, require

FAST = {"clock": {"fast": True}}


def code(text: str) -> str:
    return textwrap.dedent(text)


# ---- interpreter and heap ----------------------------------------------------------------


def test_heap_cap_gives_memory_error(flash):
    grab = code("""
    import sys
    blocks = []
    try:
        while True:
            blocks.append(bytearray(1024))
    except MemoryError:
        print(len(blocks), sys.implementation.name)
    """)
    small = runner.run(flash, code=grab, heap="128K")
    big = runner.run(flash, code=grab, heap="256K")
    assert small.ok, small.output
    n_small = int(small.stdout.split()[0])
    assert small.stdout.split()[1] == "micropython"
    assert 100 <= n_small < 128  # the cap is real: not one KiB block more than 128 fit
    assert int(big.stdout.split()[0]) > 2 * n_small - 10
    assert small.heap_base is not None and small.heap_base < 8 * 1024


def test_uncaught_memory_error_fails_the_run(flash):
    res = runner.run(flash, code="x = bytearray(200 * 1024)", heap="128K")
    assert res.returncode == 1 and "MemoryError" in res.output


def test_boot_then_main_run_from_flash_root(flash):
    (flash / "lib").mkdir()
    (flash / "lib" / "helper.py").write_text("VALUE = 42\n")
    (flash / "boot.py").write_text("print('boot')\n")
    (flash / "main.py").write_text(
        "import os, helper\nprint('main', helper.VALUE, sorted(os.listdir('/')))\n"
        "open('/data.txt', 'w').write('x')\n"
    )
    res = runner.run(flash)
    assert res.ok, res.output
    assert res.stdout.splitlines() == ["boot", "main 42 ['.harness', 'boot.py', 'lib', 'main.py']"]
    assert (flash / "data.txt").read_text() == "x"  # "/" on the device is the flash folder


def test_heap_peak_and_min_heap(flash):
    (flash / "main.py").write_text(
        code("""
    import machine
    wdt = machine.WDT(timeout=5000)
    keep = []
    for i in range(4):
        keep.append(bytearray(10 * 1024))
        wdt.feed()
    print("done")
    """)
    )
    res = runner.run(flash, control=FAST)
    assert res.ok, res.output
    assert 40 * 1024 <= res.heap_peak < 80 * 1024
    need = runner.find_min_heap(flash, low=16 * 1024, high=128 * 1024, step=4 * 1024)
    assert need is not None and 40 * 1024 < need <= 96 * 1024


def test_fakes_overhead_is_measured(tmp_path):
    require("micropython")
    overhead = runner.fakes_overhead(tmp_path)
    assert 4 * 1024 < overhead < 40 * 1024


# ---- machine: WDT, reset, pins, RTC ------------------------------------------------------


def test_wdt_fed_from_a_fast_forwarded_loop(flash):
    (flash / "main.py").write_text(
        code("""
    import machine, time
    wdt = machine.WDT(timeout=8000)
    t0 = time.time()
    for minute in range(60):
        for step in range(12):
            time.sleep(5)
            wdt.feed()
    print("simulated", time.time() - t0)
    """)
    )
    res = runner.run(flash, control=FAST, timeout=30)
    assert res.ok, res.output
    word, seconds = res.stdout.split()
    # The slept hour, plus the host's own time meanwhile: whole seconds, so the run's fraction
    # of a second can carry one more over a second's edge.
    assert word == "simulated" and 3600 <= int(seconds) <= 3601 + int(res.duration_s), seconds
    assert res.duration_s < 10 and not res.kinds("wdt-expired")


def test_wdt_expires_during_a_long_sleep_and_resets(flash):
    starve = code("""
    import machine, time
    print("cause", machine.reset_cause())
    wdt = machine.WDT(timeout=1000)
    try:
        time.sleep(3)
    finally:
        print("finally ran")
    """)
    res = runner.run(flash, code=starve, control=FAST)
    assert res.reset == "wdt" and res.kinds("wdt-expired")
    assert "finally ran" not in res.output  # a reset runs no cleanup
    assert f"cause {PWRON_RESET}" in res.stdout
    again = runner.run(flash, code=starve, control=FAST, power_on=False)
    assert f"cause {WDT_RESET}" in again.stdout


def test_wdt_not_enforced_only_logs(flash):
    res = runner.run(
        flash,
        code="import machine, time\nw = machine.WDT(timeout=100)\ntime.sleep(1)\nprint('alive')",
        control={"clock": {"fast": True}, "wdt": {"enforce": False}},
    )
    assert res.ok and "alive" in res.stdout and res.kinds("wdt-expired")


def test_wdt_timeout_limit_and_real_hang(flash):
    too_long = runner.run(flash, code="import machine\nmachine.WDT(timeout=9000)")
    assert "ValueError" in too_long.output
    hang = code("""
    import machine, socket
    wdt = machine.WDT(timeout=500)
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(1)
    s.accept()
    """)
    res = runner.run(flash, code=hang, timeout=20)
    assert res.reset == "wdt-hang"  # blocked in C: only the host-side watch can see it
    assert res.duration_s < runner.HANG_GRACE_S + 3


def test_machine_reset_pins_rtc_and_ids(flash):
    res = runner.run(
        flash,
        code=code("""
    import machine, time
    led = machine.Pin("LED", machine.Pin.OUT)
    led.on(); led.toggle(); led.toggle()
    print(led.value(), machine.unique_id().hex(), machine.freq())
    print(time.gmtime()[:3], time.time() - 1609459200 < 5)
    machine.RTC().datetime((2030, 6, 1, 5, 12, 30, 0, 0))
    print(time.localtime()[:6], type(time.time()).__name__)
    try:
        machine.reset()
    finally:
        print("finally ran")
    """),
        control={"pins": {"log": True}},
    )
    lines = res.stdout.splitlines()
    assert len(lines) == 3, res
    assert lines[0] == "1 e6614104035f2b2c 125000000"
    assert lines[1] == "(2021, 1, 1) True"  # the RTC before NTP, as on an RP2040
    assert lines[2] == "(2030, 6, 1, 12, 30, 0) int"
    assert res.reset == "reset" and "finally ran" not in res.output
    assert res.kinds("pin") == ["LED 1", "LED 0", "LED 1"]


def test_timer_callbacks_run_during_sleeps(flash):
    res = runner.run(
        flash,
        code=code("""
    import machine, time
    hits = []
    t = machine.Timer(period=500, mode=machine.Timer.PERIODIC, callback=lambda t: hits.append(1))
    time.sleep(5)
    t.deinit()
    print(len(hits))
    """),
        control=FAST,
    )
    assert res.ok and 9 <= int(res.stdout) <= 10


# ---- network, ntptime, sockets -----------------------------------------------------------

CONNECT = code("""
import network, time
def connect(key="secret", limit=20):
    w = network.WLAN(network.STA_IF)
    w.active(True)
    w.connect("lab", key)
    for _ in range(limit):
        s = w.status()
        if s < 0 or s == network.STAT_GOT_IP:
            return s
        time.sleep_ms(100)
    return w.status()
""")


def test_wlan_fail_n_times_then_connect(flash):
    res = runner.run(
        flash,
        code=CONNECT + "print([connect() for i in range(3)], connect('wrong'))\n",
        control={"clock": {"fast": True}, "wlan": {"fail": 2, "key": "secret"}},
    )
    assert res.ok, res.output
    assert res.stdout.strip() == "[-2, -2, 3] -3"
    assert res.kinds("wlan-fail") == ["-2", "-2", "-3"]


def test_wlan_link_drop_is_driven_by_the_test(flash):
    prog = CONNECT + code("""
    w = network.WLAN(network.STA_IF)
    print("connect", connect())
    print("READY")
    while w.isconnected():
        time.sleep_ms(20)
    print("lost", w.status())
    """)
    proc = runner.start(flash, code=prog)
    deadline = time.monotonic() + 10
    while "READY" not in proc.stdout_so_far() and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.control(wlan={"up": False})
    res = proc.wait(timeout=10)
    assert res.ok, res.output
    assert res.stdout.splitlines() == ["connect 3", "READY", "lost -1"]


def test_ntptime_needs_wifi_fails_n_times_then_sets_clock(flash):
    prog = CONNECT + code("""
    import ntptime
    def sync():
        try:
            ntptime.settime()
            return "ok"
        except OSError as e:
            return "err%d" % e.args[0]
    before = time.time()
    r = [sync()]
    connect()
    r += [sync(), sync(), sync()]
    print(before, r, time.time())
    """)
    world = 1_900_000_000
    res = runner.run(
        flash,
        code=prog,
        control={"clock": {"fast": True, "world": world}, "ntp": {"fail": 2, "offset_s": 7}},
    )
    assert res.ok, res.output
    before, rest = res.stdout.split(" ", 1)
    assert int(before) == 1609459200  # 2021-01-01: never stamp readings with this
    assert "['err110', 'err110', 'err110', 'ok']" in rest
    now = int(rest.rsplit(" ", 1)[1])
    assert world + 7 <= now <= world + 7 + 10  # fake time: 2 timeouts of 1 s + waits


class _Hello(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - the http.server API
        body = b"hello " + self.path.encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def http_server():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Hello)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def test_http_get_over_micropython_sockets(flash, http_server):
    prog = CONNECT + code(f"""
    import socket
    def get(path):
        addr = socket.getaddrinfo("127.0.0.1", {http_server})[0][-1]
        s = socket.socket()
        s.settimeout(5)
        try:
            s.connect(addr)
            s.send(b"GET " + path + b" HTTP/1.0\\r\\nHost: x\\r\\n\\r\\n")
            data = b""
            while True:
                chunk = s.recv(512)
                if not chunk:
                    break
                data += chunk
        finally:
            s.close()
        return data.split(b"\\r\\n")[0], data.split(b"\\r\\n\\r\\n", 1)[1]
    try:
        get(b"/early")
    except OSError as e:
        print("no wifi", e.args[0])
    connect()
    print(get(b"/reading"))
    import requests
    r = requests.get("http://127.0.0.1:{http_server}/frozen")
    print(r.status_code, r.text)
    """)
    res = runner.run(flash, code=prog, control=FAST)
    assert res.ok, res.output
    assert res.stdout.splitlines() == [
        "no wifi 113",
        "(b'HTTP/1.0 200 OK', b'hello /reading')",
        "200 hello /frozen",
    ]


def test_limited_flash_fills_up(flash, tmp_path):
    ci_guard.require_root("a size-limited flash needs root to mount a tmpfs")
    small = tmp_path / "small"
    try:
        ctx = runner.limited_flash(small, 64)
        ctx.__enter__()
    except PermissionError as e:
        ci_guard.skip_missing("CAP_SYS_ADMIN", f"{e}; a container needs it")
    try:
        res = runner.run(
            small,
            code=code("""
        import os
        n = 0
        try:
            with open("/big.bin", "wb") as f:
                while True:
                    f.write(bytearray(1024))
                    n += 1
        except OSError as e:
            print("full after", n, "KiB errno", e.args[0])
        """),
        )
    finally:
        ctx.__exit__(None, None, None)
    assert res.ok, res.output
    assert res.stdout.startswith("full after") and res.stdout.strip().endswith("errno 28")


# ---- mpy-cross -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "src, accepted",
    [
        ("x = [y for v in range(3) if (y := v)]\n", True),
        ("x = 1\nprint(f'{x=}')\n", True),
        ("def f(a, *, b):\n    return a\n", True),
        ("match x:\n    case 1:\n        pass\n", False),
        ("def f(a, /, b):\n    return a\n", False),
        ("d = {**{}}\n", False),
        ("try:\n    pass\nexcept* ValueError:\n    pass\n", False),
        ("type T = int\n", False),
    ],
)
def test_mpy_cross_rejects_syntax_micropython_lacks(tmp_path, src, accepted):
    require("mpy-cross")
    path = tmp_path / "mod.py"
    path.write_text(src)
    res = runner.mpy_cross(path)
    assert (res.returncode == 0) == accepted, res.stderr
    if not accepted:
        assert "SyntaxError" in res.stderr


def test_mpy_file_runs_and_dataclasses_is_a_runtime_error(flash, tmp_path):
    require("mpy-cross")
    src = tmp_path / "shared.py"
    src.write_text("def total(xs):\n    return sum(xs)\n")
    res = runner.mpy_cross(src, flash / "shared.mpy")
    assert res.returncode == 0, res.stderr
    ran = runner.run(flash, code="import shared\nprint(shared.total([1, 2, 3]))")
    assert ran.ok and ran.stdout.strip() == "6"
    dc = tmp_path / "dc.py"
    dc.write_text("from dataclasses import dataclass\n")
    assert runner.mpy_cross(dc).returncode == 0  # compiles: the import fails only at run time
    missing = runner.run(flash, code="from dataclasses import dataclass")
    assert missing.returncode == 1 and "ImportError" in missing.output


def test_romfs_image_runs_in_place_and_counts_before_heap_base(flash, tmp_path):
    # rom.img in the harness folder is a ROMFS partition: mounted at /rom, "/rom" and
    # "/rom/lib" appended to sys.path as a firmware with one does, read in before heap-base
    # (on a Pico it is flash), and an .mpy from it keeps its bytecode out of the heap.
    require("mpy-cross", "mpremote")
    from tests.pico import picotest

    src = tmp_path / "big.py"
    src.write_text("".join(f"def f{i}(x):\n    return x * {i} + len('{'n' * 40}{i}')\n"
                           for i in range(60)) + "VALUE = f59(1)\n")
    mpy = tmp_path / "big.mpy"
    assert runner.mpy_cross(src, mpy).returncode == 0
    probe = code("""
    import gc, sys
    gc.collect()
    a = gc.mem_alloc()
    import big
    gc.collect()
    print(big.VALUE, big.__file__, gc.mem_alloc() - a, sys.path)
    """)
    (flash / "big.mpy").write_bytes(mpy.read_bytes())
    on_flash = runner.run(flash, code=probe)
    (flash / "big.mpy").unlink()
    rom = tmp_path / "flash.harness" / "rom.img"
    rom.write_bytes(picotest.rom_image({"big.mpy": mpy.read_bytes(), "main.py": b""}))
    in_rom = runner.run(flash, code=probe)
    assert on_flash.ok and in_rom.ok, on_flash.output + in_rom.output
    value, path, cost_flash = on_flash.stdout.split()[:3]
    value_rom, path_rom, cost_rom = in_rom.stdout.split()[:3]
    assert value == value_rom and path == "big.mpy" and path_rom == "/rom/big.mpy"
    assert "'/lib', '/rom', '/rom/lib'" in in_rom.stdout
    assert int(cost_rom) * 3 < int(cost_flash) * 2, (cost_rom, cost_flash)  # about half
    assert in_rom.heap_base >= on_flash.heap_base + rom.stat().st_size


# ---- the virtual Pico under mpremote ------------------------------------------------------


def _ok(res):
    assert res.returncode == 0, res.stdout + res.stderr
    return res.stdout


def test_vpico_exec_and_filesystem(virtual_pico, tmp_path):
    dev = virtual_pico
    assert _ok(dev.mpremote("exec", "import sys; print(sys.implementation.name)")).strip() == ("micropython")
    assert "R\x01" in dev.serial_log()  # mpremote asked for raw-paste mode and got it
    src = tmp_path / "app.py"
    src.write_text("print('app v1')\n")
    _ok(dev.mpremote("fs", "mkdir", ":lib", "+", "fs", "cp", str(src), ":lib/app.py"))
    assert (dev.flash / "lib" / "app.py").read_text() == "print('app v1')\n"
    # An unchanged file is not copied again: mpremote compares sha256 on the device.
    again = _ok(dev.mpremote("fs", "cp", str(src), ":lib/app.py"))
    assert "Up to date: lib/app.py" in again
    src.write_text("print('app v2')\n")
    changed = _ok(dev.mpremote("fs", "cp", str(src), ":lib/app.py"))
    assert "Up to date" not in changed
    listing = _ok(dev.mpremote("fs", "ls", ":lib"))
    assert "app.py" in listing
    assert "app v2" in _ok(dev.mpremote("fs", "cat", ":lib/app.py"))
    back = tmp_path / "back.py"
    _ok(dev.mpremote("fs", "cp", ":lib/app.py", str(back)))
    assert back.read_text() == "print('app v2')\n"
    _ok(dev.mpremote("fs", "rm", ":lib/app.py"))
    assert not (dev.flash / "lib" / "app.py").exists()
    # The inventory-style symlink works as a port name too.
    assert "lib" in _ok(dev.mpremote("fs", "ls", port=dev.device))


def test_vpico_mpy_copy_and_run(virtual_pico, tmp_path):
    require("mpy-cross")
    dev = virtual_pico
    src = tmp_path / "model.py"
    src.write_text("def tick(n):\n    return n * 3\n")
    assert runner.mpy_cross(src, tmp_path / "model.mpy").returncode == 0
    _ok(dev.mpremote("fs", "cp", str(tmp_path / "model.mpy"), ":model.mpy"))
    script = tmp_path / "script.py"
    script.write_text("import model\nprint('tick', model.tick(14))\n")
    assert _ok(dev.mpremote("run", str(script))).strip() == "tick 42"


def test_vpico_resets_and_main_py(tmp_path):
    require("micropython", "mpremote")
    from .vpico import vpico

    files = {
        "boot.py": "print('boot ran')\n",
        "main.py": "import time\nprint('main ran')\nwhile True:\n    time.sleep_ms(50)\n",
    }
    with vpico(tmp_path, files=files) as dev:
        assert dev.wait_for_output("main ran")  # power-on runs boot.py, then main.py
        # mpremote interrupts main.py (Ctrl-C), then soft-resets in the raw REPL: boot.py
        # runs again, main.py does not (as on a real board).
        _ok(dev.mpremote("soft-reset"))
        log = dev.serial_log()
        assert log.count("boot ran") == 2 and log.count("main ran") == 1
        assert "KeyboardInterrupt" in log and "MPY: soft reboot" in log
        # Ctrl-D at the friendly REPL is the soft reset that runs main.py again.
        fd = os.open(dev.port, os.O_RDWR | os.O_NOCTTY)
        try:
            os.write(fd, b"\r\x02")  # mpremote left it there already; harmless
            time.sleep(0.3)
            os.write(fd, b"\x04")
            assert _wait_count(dev, "main ran", 2)
        finally:
            os.close(fd)
        # `mpremote reset` is a hard reset (machine.reset()): boot.py and main.py run.
        _ok(dev.mpremote("reset"))
        assert _wait_count(dev, "main ran", 3)
        assert _boots(dev, "hard") == 1


def _boots(dev, why: str) -> int:
    return sum(1 for _, k, d in dev.events() if k == "vpico-boot" and d == why)


def _wait_count(dev, text: str, n: int, timeout: float = 10) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if dev.serial_log().count(text) >= n:
            return True
        time.sleep(0.05)
    return False


def test_vpico_watchdog_survives_soft_reset(tmp_path):
    require("micropython", "mpremote")
    from .vpico import vpico

    files = {
        "main.py": code("""
    import machine, time
    wdt = machine.WDT(timeout=1000)
    print("main ran", machine.reset_cause())
    while True:
        time.sleep_ms(100)
        wdt.feed()
    """)
    }
    with vpico(tmp_path, files=files) as dev:
        assert dev.wait_for_output(f"main ran {PWRON_RESET}")
        # Interrupting main.py stops the feeding, not the RP2040's watchdog: it resets the
        # board about a second later (plus the host's grace), in the middle of the session.
        _ok(dev.mpremote("exec", "print('in raw REPL')"))
        assert _wait_count(dev, f"main ran {WDT_RESET}", 1, timeout=10)
        assert ("wdt-expired", "host") in [(k, d) for _, k, d in dev.events()]


def test_vpico_stops_by_pid(tmp_path):
    require("micropython")
    from .vpico import vpico

    with vpico(tmp_path) as dev:
        pid = dev.pid
        assert Path(dev.device).is_symlink()
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    assert not (tmp_path / "ttyACM0").exists()
