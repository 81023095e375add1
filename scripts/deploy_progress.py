"""Show a playbook run as it goes: what scripts/up.sh pipes ansible-playbook through.

Every line goes to the log file (the deploy in full); the person watching sees each play as it
starts, the task running now (on a terminal, one line redrawn in place, with the count of tasks
done and the time so far), and at the end the recap. Off a terminal (a CI log), one line per
play and the recap: no redrawing. Exit status 1 when the recap reports a failed or unreachable
host, or when no recap came at all (the playbook died), so up.sh can say where to look.

Usage: ansible-playbook ... | python scripts/deploy_progress.py LOGFILE
"""

from __future__ import annotations

import re
import sys
import time

PLAY = re.compile(r"^PLAY \[(.*)\] \*+")
TASK = re.compile(r"^(?:TASK|RUNNING HANDLER) \[(.*)\] \*+")
RECAP_HOST = re.compile(r"^(\S+)\s+: ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)")


class View:
    def __init__(self, out, tty: bool, clock=time.monotonic):
        self.out = out
        self.tty = tty
        self.clock = clock
        self.started = clock()
        self.tasks = 0
        self.in_recap = False
        self.failed_hosts: list[str] = []
        self.recap_seen = False

    def _say(self, text: str) -> None:
        if self.tty:
            self.out.write("\r\x1b[K")
        self.out.write(text + "\n")
        self.out.flush()

    def _status(self, text: str) -> None:
        if self.tty:
            width = 100
            self.out.write("\r\x1b[K" + text[:width])
            self.out.flush()

    def line(self, raw: str) -> None:
        text = raw.rstrip("\n")
        if text.startswith("PLAY RECAP"):
            self.in_recap = self.recap_seen = True
            self._say(f"deploy: {self.tasks} tasks in {self.clock() - self.started:.0f} s")
            self._say(text)
            return
        if self.in_recap:
            m = RECAP_HOST.match(text)
            if m:
                self._say(text)
                if int(m.group(4)) or int(m.group(5)):
                    self.failed_hosts.append(m.group(1))
            return
        m = PLAY.match(text)
        if m:
            self._say(f"deploy: play {m.group(1)}")
            return
        m = TASK.match(text)
        if m:
            self.tasks += 1
            elapsed = self.clock() - self.started
            self._status(f"  task {self.tasks} ({elapsed:.0f} s): {m.group(1)}")


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: deploy_progress.py LOGFILE", file=sys.stderr)
        return 2
    view = View(sys.stdout, sys.stdout.isatty())
    with open(argv[1], "w") as log:
        for raw in sys.stdin:
            log.write(raw)
            log.flush()
            view.line(raw)
    if not view.recap_seen:
        print("deploy: the playbook ended without a recap", file=sys.stderr)
        return 1
    if view.failed_hosts:
        print(f"deploy: failed on {', '.join(view.failed_hosts)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
