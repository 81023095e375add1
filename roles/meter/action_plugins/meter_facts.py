"""Ansible action: the few facts the meter role reads, from one plain command (roles/meter).

The setup module, even with a small gather_subset, is a module run on the host: Ansible ships
it over (AnsiballZ), the host's Python starts, imports the fact collectors and runs them. That
was about 6 s of a first deploy of 20 meters on two cores. The role reads only the account's
home and name, whether systemd runs the host, the machine and the version of the Python the
meter's venv is made from (vars/main.yml, defaults/main.yml), and whether `zstd` is on the
PATH (`meter_zstd`: the tree's installer then unpacks zstd): one short Python command over
the SSH session (as `raw` runs it) prints them. They are returned as facts, with setup's names
(ansible_user_dir, ...: the role reads ansible_facts['user_dir']), so the fact cache keeps
them and the next run asks nothing.

Options: python, the host's Python to ask (the one the venv is made from: meter_python).
"""

from __future__ import annotations

import json
import shlex

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

# sd_booted()'s test: systemd runs the host when /run/systemd/system is a folder. The role
# compares service_mgr with "systemd" only.
_PROBE = """\
import json, os, platform, pwd, sys
user = pwd.getpwuid(os.getuid())
v = sys.version_info
print(json.dumps({
    "user_dir": user.pw_dir, "user_id": user.pw_name, "user_uid": user.pw_uid,
    "service_mgr": "systemd" if os.path.isdir("/run/systemd/system") else "service",
    "machine": platform.machine(), "system": platform.system(),
    "meter_zstd": any(os.access(os.path.join(d, "zstd"), os.X_OK)
                      for d in os.environ.get("PATH", "/usr/bin:/bin").split(":") if d),
    "python": {"executable": sys.executable, "type": "CPython",
               "version": {"major": v.major, "minor": v.minor, "micro": v.micro,
                           "releaselevel": v.releaselevel, "serial": v.serial},
               "version_info": list(v)},
}))
"""


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(("python",))

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars or {})
        # No tty (ssh -tt, raw's default): stdout stays the command's own, and sshd records
        # no login session for it. Read-only, so it runs in check mode too, as setup does.
        if "use_tty" in getattr(self._connection, "_options", {}):  # ssh; local has no tty
            self._connection.set_option("use_tty", False)
        python = self._task.args.get("python") or "/usr/bin/python3"
        done = self._low_level_execute_command(
            f"{shlex.quote(python)} -c {shlex.quote(_PROBE)}", executable="/bin/sh")
        if done["rc"] != 0:
            raise AnsibleActionFail(
                f"could not read the host's facts with {python} (exit {done['rc']}): "
                f"{(done.get('stderr') or done.get('stdout') or '').strip()}")
        try:
            facts = json.loads(done["stdout"].strip().splitlines()[-1])
        except (ValueError, IndexError) as exc:
            raise AnsibleActionFail(f"the host's facts were not JSON: {done['stdout']!r}") from exc
        result["ansible_facts"] = {f"ansible_{name}": value for name, value in facts.items()}
        result["changed"] = False
        return result
