"""Ansible action for the meter_crontab module (roles/meter/library/meter_crontab.py).

The module's work with no module run on the host: `crontab -l` and, when an entry differs,
`crontab -` are plain commands over the SSH session (as `raw` runs them), and the entries are
merged here on the controller by the module's own functions (job_line, apply, HEADER), so both
write the same `#Ansible: <name>` lines. A module run ships the module over and starts the
host's Python (a fifth of a CPU-second on a meter); this is one short command per host when
nothing changes and two when something does. The new crontab goes on stdin, never on a
command line. Same options, results and check mode as the module.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from ansible.errors import AnsibleActionFail
from ansible.module_utils.common.text.converters import to_bytes
from ansible.plugins.action import ActionBase


def _module():
    """The library module, for its functions (it runs nothing when imported)."""
    path = Path(__file__).resolve().parents[1] / "library" / "meter_crontab.py"
    spec = importlib.util.spec_from_file_location("meter_crontab_module", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(("entries",))

    def _sh(self, cmd: str, in_data: str | None = None) -> dict:
        # Bytes: the connections' stdin is (ssh converts a str; local hands it to Popen as is).
        return self._low_level_execute_command(
            cmd, executable="/bin/sh", in_data=None if in_data is None else to_bytes(in_data))

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars or {})
        lib = _module()
        entries = self._task.args.get("entries")
        if not isinstance(entries, list):
            raise AnsibleActionFail("entries must be a list of entries")
        for entry in entries:
            if not entry.get("name") or entry.get("state", "present") not in ("present", "absent"):
                raise AnsibleActionFail(
                    f"each entry needs a name and a state of present or absent: {entry}")
            if entry.get("state", "present") == "present" and not entry.get("job"):
                raise AnsibleActionFail(f"entry {entry['name']!r} needs a job")
        # No tty (ssh -tt, raw's default): stdout and stderr stay apart.
        if "use_tty" in getattr(self._connection, "_options", {}):
            self._connection.set_option("use_tty", False)
        listed = self._sh("crontab -l")
        if listed["rc"] != 0 and "no crontab" not in listed["stderr"]:
            raise AnsibleActionFail(f"crontab -l failed: {listed['stderr'].strip()}")
        current = [line for line in listed["stdout"].splitlines() if not lib.HEADER.fullmatch(line)]
        wanted = lib.apply(current, entries)
        result["changed"] = wanted != current
        if not result["changed"]:
            return result
        result["diff"] = {"before": "\n".join(current) + "\n", "after": "\n".join(wanted) + "\n"}
        if not self._task.check_mode:
            done = self._sh("crontab -", in_data="\n".join(wanted).rstrip("\r\n") + "\n")
            if done["rc"] != 0:
                raise AnsibleActionFail(f"crontab failed: {(done['stderr'] or done['stdout']).strip()}")
        return result
