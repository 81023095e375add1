"""The rsync-over-SSH delivery pass (`meter sync`): the outbox into Tempest's drop folder.

rsync writes each file under a hidden temporary name (`.name.XXXXXX`) in the drop folder and
renames it into place when it is complete, so Tempest (which never reads hidden names) only
ever sees whole files under their final names. `--partial` and `--inplace` are never used:
they would break exactly that.

A file moves to sent/ only when rsync exited 0 *and* named it as transferred (`--out-format
%n`). `--ignore-times` makes rsync send every file it is given, even one that an earlier,
killed run already put there: the copy is the same bytes and Tempest dedupes by content, while
a file rsync skipped as "up to date" would otherwise never be named, and never leave the
outbox. On any other exit nothing moves; the pass backs off like an HTTP failure.

On the Tempest side the key is usually pinned to `rrsync -wo <drop folder>` (write only, no
delete): see docs/delivery.md.
"""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from meter.config import Config
from meter.delivery import checks, settings, state
from meter.delivery.events import Events, now_iso
from meter.delivery.folders import Busy, Folders
from meter.delivery.result import PassResult
from meter.delivery.settings import DeliverySettings

RSYNC = "rsync"
WALL_LIMIT_S = 600  # a whole rsync run; stalls are caught sooner by --timeout


@dataclass
class RsyncRun:
    ok: bool
    transferred: set[str] = field(default_factory=set)
    reason: str = ""
    returncode: int | None = None


def ssh_command(s: DeliverySettings) -> str:
    """The `rsync -e` value: batch mode (never a password prompt from cron), short timeouts,
    the meter's key, and host-key checking (strict with a known_hosts file; else the first key
    seen is trusted and remembered)."""
    opts = ["ssh", "-p", str(s.ssh_port), "-o", "BatchMode=yes",
            "-o", f"ConnectTimeout={max(1, round(s.timeout_s))}",
            "-o", "ServerAliveInterval=10", "-o", "ServerAliveCountMax=3"]
    if s.ssh_key:
        opts += ["-i", s.ssh_key, "-o", "IdentitiesOnly=yes"]
    if s.ssh_known_hosts:
        opts += ["-o", f"UserKnownHostsFile={s.ssh_known_hosts}",
                 "-o", "StrictHostKeyChecking=yes"]
    else:
        opts += ["-o", "StrictHostKeyChecking=accept-new"]
    return " ".join(shlex.quote(o) for o in opts)


def rsync_argv(s: DeliverySettings) -> list[str]:
    return [RSYNC, "--times", "--ignore-times", "--from0", "--files-from=-",
            f"--timeout={max(1, round(s.timeout_s))}", "--out-format=%n",
            "-e", ssh_command(s), "./", s.rsync_target]


def run_rsync(s: DeliverySettings, src: Path, names: list[str]) -> RsyncRun:
    """rsync `names` (files in folder `src`) to the target; which ones it transferred."""
    if not names:
        return RsyncRun(True)
    stdin = b"\0".join(n.encode() for n in names) + b"\0"
    try:
        # Its own session, so a timeout can stop rsync *and* the ssh it started.
        proc = subprocess.Popen(rsync_argv(s), cwd=src, stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                start_new_session=True)
    except OSError as exc:
        return RsyncRun(False, reason=f"cannot run rsync: {exc}")
    try:
        out, err = proc.communicate(stdin, timeout=WALL_LIMIT_S)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        return RsyncRun(False, reason=f"rsync took longer than {WALL_LIMIT_S} s; stopped it")
    listed = {line.strip() for line in out.decode(errors="replace").splitlines()}
    if proc.returncode != 0:
        tail = err.decode(errors="replace").strip().splitlines()[-3:]
        return RsyncRun(False, reason=f"rsync exited {proc.returncode}: {' / '.join(tail)}",
                        returncode=proc.returncode)
    return RsyncRun(True, listed & set(names), returncode=0)


def sync_pass(cfg: Config, root, now: float, force: bool = False) -> PassResult:
    """One rsync delivery pass for one meter at meter-clock time `now` (Unix seconds)."""
    s = settings.delivery(cfg)
    folders = Folders(root)
    events = Events(folders.root, cfg.serial)
    res = PassResult(cfg.serial, "rsync")
    if not s.rsync_target:
        res.error = "no delivery.rsync_target in the config: nowhere to sync to"
        events.record("error", reason=res.error)
        return res
    folders.ensure()
    st = state.State()
    try:
        with folders.lock():
            st = state.load(folders.root)
            if not force and not st.due(now, s.backoff_max_s):
                res.deferred_until = st.next_attempt
            else:
                _sync(cfg, s, folders, events, res, st, now)
                state.save(folders.root, st)
    except Busy as exc:
        res.error = str(exc)
    res.pending = folders.backlog()
    res.failures = st.failures
    return res


def _sync(cfg, s, folders, events, res, st, now) -> None:
    good = []
    for entry in folders.pending():
        try:
            data = (folders.outbox / entry.name).read_bytes()
            checks.check(data, cfg.serial, entry)
        except OSError as exc:
            events.record("error", entry.name, reason=f"cannot read it: {exc}")
            continue
        except checks.Problem as exc:
            reason = {**exc.as_dict(), "time": now_iso(), "file": entry.name}
            events.record("rejected", entry.name, reason=exc.reason, field=exc.field or None)
            try:
                folders.to_rejected(entry.name, reason, data)
                res.rejected.append(entry.name)
            except OSError as move_exc:
                events.record("error", entry.name, reason=f"cannot reject it: {move_exc}")
            continue
        good.append((entry.name, data))
    if not good:
        return
    run = run_rsync(s, folders.outbox, [n for n, _ in good])
    if not run.ok:
        delay = st.failed(now, run.reason, s.backoff_max_s)
        res.error = run.reason
        res.deferred_until = st.next_attempt
        events.record("retry", status=run.returncode, reason=run.reason, route="rsync",
                      failures=st.failures, retry_in_s=delay)
        return
    for name, data in good:
        if name not in run.transferred:
            continue  # rsync did not name it: it stays for the next pass
        try:
            folders.to_sent(name, data)
        except OSError as exc:
            events.record("error", name, reason=f"synced, but cannot move it to sent/: {exc}")
            continue
        events.record("sent", name, route="rsync")
        res.sent.append(name)
    before = st.succeeded(now)
    if before:
        events.record("recovered", reason=f"rsync worked again after {before} failed passes")
