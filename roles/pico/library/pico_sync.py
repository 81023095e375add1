#!/usr/bin/python
"""Ansible module: make a Pico W's flash hold a folder's files, over mpremote (roles/pico)."""

from __future__ import annotations

DOCUMENTATION = r"""
module: pico_sync
short_description: Make a MicroPython board's flash hold the files of a folder, with mpremote.
description:
  - Compares the sha256 of every file of O(src) (and of secrets.py, rendered from O(secrets))
    with the board's, copies only what differs, and removes files under O(managed) that the
    folder does not have (a stale .py would be imported before a new .mpy).
  - Any mpremote session interrupts the running program (Ctrl-C), and the RP2040's watchdog,
    once the program started it, survives the soft reset that follows. So the module first
    sets the program's deploy hold (O(hold), which main.py checks before it starts the
    watchdog), resets the board into it and only then copies. With nothing to copy it lifts
    the hold at once and resets, so the program runs again.
  - With files copied the board is left in hold (changed); O(state=started) (the role's
    handler) lifts the hold and resets the board, so the program starts with all of them.
options:
  port: {description: The board's serial port, e.g. /dev/ttyACM0., required: true, type: str}
  src: {description: The flash image folder (meter pico-config --image)., type: path}
  secrets: {description: SSID, PASSWORD and API_KEY for secrets.py., type: dict, no_log: true}
  managed: {description: Folders whose unknown files are removed., type: list, elements: str}
  folders: {description: Folders to make (the program makes them too)., type: list, elements: str}
  mpremote: {description: The mpremote executable., type: str, default: mpremote}
  state: {description: present (sync) or started (lift the hold and reset)., type: str,
          choices: [present, started], default: present}
  hold: {description: The deploy hold flag file., type: str, default: /deploy.hold}
  timeout: {description: Seconds to wait for the board after a reset., type: int, default: 30}
"""

import hashlib
import json
import os
import subprocess
import tempfile
import time

from ansible.module_utils.basic import AnsibleModule

MARK = "PICO_SYNC "
# Runs on the board: the sha256 of the listed files and the files under the managed folders.
# S_IFDIR is 0x4000 on LittleFS and on the unix port alike; ilistdir entries differ.
# The hold (first %s) is set before any hashing: the program's watchdog, unfed since the
# Ctrl-C, may reset the board within seconds, and hashing a whole flash on a busy board can
# take longer; a reset after the hold comes up in hold, one before it restarts the program.
# The answer is streamed (json.dump to stdout), never built as one string: hashing leaves the
# heap fragmented, and a 5 KiB string found no room in a 192 KiB heap with 150 KiB free.
MANIFEST = """
%s
import os,sys,hashlib,binascii,json
def h(p):
 try:f=open(p,'rb')
 except OSError:return None
 d=hashlib.sha256();b=bytearray(256)
 while True:
  n=f.readinto(b)
  if not n:break
  d.update(b[:n])
 f.close();return binascii.hexlify(d.digest()).decode()
def w(d,o):
 try:l=os.listdir(d)
 except OSError:return
 for n in l:
  p=d+'/'+n
  if os.stat(p)[0]&0x4000:w(p,o)
  else:o.append(p[1:])
P=%s
r={}
for p in P:r[p]=h('/'+p)
x=[]
for d in %s:w('/'+d,x)
print('%s',end='')
json.dump({'files':r,'extra':[p for p in x if p not in r]},sys.stdout)
print()
"""
SET_HOLD = "open('%s','w').close()"
# Lift the hold; the note tells the next boot that this reset was the deploy's, not a hang.
START = """
import os
try:os.remove('%s')
except OSError:pass
f=open('/reset.note','w');f.write('deploy');f.close()
"""
MKDIRS = """
import os
for d in %s:
 try:os.mkdir(d)
 except OSError:pass
for p in %s:
 try:os.remove('/'+p)
 except OSError:pass
"""


class Board:
    def __init__(self, module):
        self.m = module
        self.exe = module.params["mpremote"]
        self.port = module.params["port"]
        self.timeout = module.params["timeout"]
        self.log = []

    def run(self, *args, retry=True):
        """mpremote connect PORT args...; retried while the board comes back from a reset."""
        end = time.monotonic() + (self.timeout if retry else 0)
        attempts = 0
        while True:
            attempts += 1
            try:
                res = subprocess.run([self.exe, "connect", self.port, *args], capture_output=True,
                                     text=True, timeout=120)
            except subprocess.TimeoutExpired:
                res = None
            if res is not None and res.returncode == 0:
                self.log.append(" ".join(args[:3]))
                return res.stdout
            if time.monotonic() > end:
                err = res.stderr.strip()[-800:] if res is not None else "mpremote timed out"
                # mpremote prints what the board answered to stdout before it gives up: the
                # one clue to a board that is busy, rebooting or wedged.
                said = res.stdout.strip()[-800:] if res is not None else ""
                self.m.fail_json(msg=f"mpremote on {self.port} failed: {err}", board_said=said,
                                 attempts=attempts, commands=self.log)
            time.sleep(0.5)

    def manifest(self, paths, managed, hold):
        code = MANIFEST % (SET_HOLD % hold if hold else "", json.dumps(paths),
                           json.dumps(managed), MARK)
        out = self.run("exec", code)
        for line in out.splitlines():
            if line.startswith(MARK):
                return json.loads(line[len(MARK):])
        self.m.fail_json(msg="the board did not answer the manifest", stdout=out[-2000:])

    def start(self, hold):
        self.run("exec", START % hold, "+", "reset")


def local_files(src, secrets):
    files = {}
    if src:
        for dirpath, _, names in os.walk(src):
            for name in names:
                if name.startswith("."):
                    continue
                path = os.path.join(dirpath, name)
                rel = os.path.relpath(path, src).replace(os.sep, "/")
                with open(path, "rb") as f:
                    files[rel] = f.read()
    if secrets:
        lines = ["# Written by the pico role from the vault: Wi-Fi and the Tempest API key."]
        for key in ("SSID", "PASSWORD", "API_KEY"):
            lines.append(f"{key} = {json.dumps(str(secrets.get(key.lower(), '')))}")
        files["secrets.py"] = ("\n".join(lines) + "\n").encode()
    return files


def main():
    module = AnsibleModule(
        argument_spec={
            "port": {"type": "str", "required": True},
            "src": {"type": "path"},
            "secrets": {"type": "dict", "no_log": True},
            "managed": {"type": "list", "elements": "str", "default": []},
            "folders": {"type": "list", "elements": "str", "default": []},
            "mpremote": {"type": "str", "default": "mpremote"},
            "state": {"type": "str", "choices": ["present", "started"], "default": "present"},
            "hold": {"type": "str", "default": "/deploy.hold"},
            "timeout": {"type": "int", "default": 30},
        },
        supports_check_mode=True,
    )
    p = module.params
    board = Board(module)
    if p["state"] == "started":
        if not module.check_mode:
            board.start(p["hold"])
        module.exit_json(changed=True, commands=board.log)

    files = local_files(p["src"], p["secrets"])
    want = {name: hashlib.sha256(data).hexdigest() for name, data in files.items()}
    # This first contact interrupts the program: set the hold in the same breath, so that a
    # watchdog reset in the next seconds brings the board up in hold, not in the program.
    seen = board.manifest(sorted(want), p["managed"], None if module.check_mode else p["hold"])
    changed = sorted(n for n in want if seen["files"].get(n) != want[n])
    extra = sorted(seen["extra"])
    if module.check_mode or not (changed or extra):
        if not module.check_mode:
            board.start(p["hold"])  # nothing to copy: the program runs again at once
        module.exit_json(changed=bool(changed or extra), copied=changed, removed=extra,
                         commands=board.log)

    board.run("reset")  # into the hold: no watchdog from here on
    folders = set(p["folders"])
    for name in changed:
        parts = name.split("/")[:-1]
        for i in range(1, len(parts) + 1):
            folders.add("/" + "/".join(parts[:i]))
    board.run("exec", MKDIRS % (json.dumps(sorted(folders, key=len)), json.dumps(extra)))
    with tempfile.TemporaryDirectory() as tmp:
        copies = []
        for name in changed:
            local = os.path.join(tmp, name.replace("/", "__"))
            with open(local, "wb") as f:
                f.write(files[name])
            os.chmod(local, 0o600)  # secrets.py among them
            copies.append(["fs", "cp", local, ":" + name])
        for i in range(0, len(copies), 12):  # a dozen files per mpremote session
            args = []
            for one in copies[i:i + 12]:
                args += (["+"] if args else []) + one
            board.run(*args)
    again = board.manifest(sorted(want), p["managed"], None)
    wrong = sorted(n for n in want if again["files"].get(n) != want[n])
    if wrong:
        module.fail_json(msg="files differ on the board after the copy", files=wrong)
    module.exit_json(changed=True, copied=changed, removed=extra, held=True,
                     commands=board.log)


if __name__ == "__main__":
    main()
