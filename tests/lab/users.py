"""The lab's Unix accounts: created once, reused across runs, never adopted if not ours.

These are the only changes the lab makes to the machine outside its own folder (besides
their home folders under /home), so every step checks before it writes.
"""

from __future__ import annotations

import grp
import os
import pwd
import re
import shutil
import subprocess
from pathlib import Path

from .config import GECOS_MARK, Host


class LabError(RuntimeError):
    """The lab cannot be set up as asked; the message says what to do."""


def _run(*argv: str) -> None:
    result = subprocess.run(argv, capture_output=True, text=True)
    if result.returncode != 0:
        raise LabError(f"{' '.join(argv)} failed: {result.stderr.strip()}")


def _shadow_password(user: str) -> str | None:
    for line in Path("/etc/shadow").read_text().splitlines():
        name, _, rest = line.partition(":")
        if name == user:
            return rest.split(":", 1)[0]
    return None


def ensure_account(host: Host, shell: str, groups: tuple[str, ...] = ()) -> bool:
    """Make sure the account exists, is unlocked and lives at host.home; True if created."""
    created = False
    try:
        entry = pwd.getpwnam(host.user)
    except KeyError:
        _run("useradd", "--home-dir", str(host.home), "--no-create-home", "--shell", shell,
             "--user-group", "--comment", f"{GECOS_MARK} {host.name}", host.user)
        entry = pwd.getpwnam(host.user)
        created = True
    if not entry.pw_gecos.startswith(GECOS_MARK):
        raise LabError(
            f"user {host.user} exists but was not made by the lab (GECOS {entry.pw_gecos!r}); "
            "set METERS_LAB_PREFIX to use other names")
    if entry.pw_dir != str(host.home) or entry.pw_shell != shell:
        _run("usermod", "--home", str(host.home), "--shell", shell, host.user)
    # useradd leaves the password as "!" (locked). With UsePAM no, sshd refuses locked
    # accounts even for key logins; "*" means "no password" without locking.
    if (_shadow_password(host.user) or "").startswith("!"):
        _run("usermod", "-p", "*", host.user)
    for group in groups:
        if host.user not in grp.getgrnam(group).gr_mem:
            _run("usermod", "--append", "--groups", group, host.user)
    return created


def ensure_home(host: Host, authorized_key: str, mode: int = 0o750,
                key_blob: str | None = None) -> None:
    """Home folder and ~/.ssh/authorized_keys with the controller's key, owned by the user.
    With `key_blob`, any other line for that key goes (an earlier, less restricted one).

    sshd's StrictModes rejects keys in a folder that others can write, so modes are exact.
    """
    entry = pwd.getpwnam(host.user)
    uid, gid = entry.pw_uid, entry.pw_gid
    ssh_dir = host.home / ".ssh"
    keys = ssh_dir / "authorized_keys"
    for path, path_mode in ((host.home, mode), (ssh_dir, 0o700)):
        path.mkdir(exist_ok=True)
        os.chown(path, uid, gid)
        path.chmod(path_mode)
    lines = keys.read_text().splitlines() if keys.exists() else []
    if key_blob is not None:
        lines = [ln for ln in lines if key_blob not in ln.split() or ln == authorized_key]
    if authorized_key not in lines:
        keys.write_text("\n".join([*lines, authorized_key]) + "\n")
    os.chown(keys, uid, gid)
    keys.chmod(0o600)


def ensure_owned(path: Path, user: str, mode: int, is_dir: bool) -> None:
    entry = pwd.getpwnam(user)
    if is_dir:
        path.mkdir(parents=True, exist_ok=True)
    else:
        path.touch(exist_ok=True)
    os.chown(path, entry.pw_uid, entry.pw_gid)
    path.chmod(mode)


def wipe_home(host: Host) -> None:
    """Back to a freshly imaged Pi: the home folder is removed (callers recreate it)."""
    if host.home.is_dir() and host.home.parent != Path("/"):
        shutil.rmtree(host.home)


def uid_of(user: str) -> int | None:
    try:
        return pwd.getpwnam(user).pw_uid
    except KeyError:
        return None


def lab_users(prefix: str) -> list[str]:
    """Every account the lab ever made with this prefix (also those beyond today's N).

    Exact names, not a bare prefix match: prefix "lab-" must not catch another lab's "lab-2-m01".
    """
    pattern = re.compile(re.escape(prefix) + r"(tempest|drop|m\d+)")
    return sorted(
        e.pw_name for e in pwd.getpwall()
        if pattern.fullmatch(e.pw_name) and e.pw_gecos.startswith(GECOS_MARK))


def delete_account(user: str) -> None:
    """Remove a lab-made account and its home; refuses accounts the lab did not make."""
    entry = pwd.getpwnam(user)
    if not entry.pw_gecos.startswith(GECOS_MARK):
        raise LabError(f"refusing to delete {user}: not made by the lab")
    _run("userdel", "--remove", user)
