"""The virtual Pico when its interpreter aborts on a Ctrl-C ("FATAL: uncaught NLR", a quirk of
the unix-port build that CI met under load) instead of raising KeyboardInterrupt: the board
comes back in the raw REPL mpremote asks for, as a real board would, and not by restarting the
program (which made mpremote's every retry fail: "could not enter raw repl")."""

from __future__ import annotations

from tests.pico_harness.harnessdir import require
from tests.pico_harness.vpico import vpico

# A program that dies the way the interpreter does: its last words, then an abort (a hard
# reset, as a crash is). It counts its starts on the flash, so a restart would show.
MAIN = """
import machine, time
with open('starts.txt', 'a') as f:
    f.write('x')
try:
    while True:
        time.sleep_ms(20)
except KeyboardInterrupt:
    print('FATAL: uncaught NLR 0x7f0000000000')
    machine.reset()
"""


def test_an_abort_on_ctrl_c_leaves_the_board_in_its_raw_repl(tmp_path):
    require("micropython", "mpremote")
    with vpico(tmp_path, files={"main.py": MAIN}) as dev:
        assert dev.wait_for_event("vpico-boot", 1, timeout=30)
        res = dev.mpremote("exec", "print(open('starts.txt').read())", timeout=60)
        assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-2000:]
        assert res.stdout.strip() == "x"  # the program did not start again
        kinds = [k for _, k, _ in dev.events()]
        assert "vpico-ctrl-c-abort" in kinds, kinds
