"""Ansible action: a file that holds secrets (the meter's config.json), written in one step.

What `template` with `validate` and `mode` does, in one plain command over the SSH session
instead of a stat module run, a file transfer, a copy module run and the temporary folder's
making and removal: the content goes on the command's stdin (as a pipelined module does; never
on a command line, where `ps` would show it), and sh on the host compares it with the file,
and when it differs writes it beside the file (umask 077), runs `validate` on it (`%s` is its
path), then sets the mode and renames it over the file. A refused file is removed, the old one
stays, and the task fails with the validator's message (stderr). The same content only has its
mode set back when it differs. Check mode compares and writes nothing.

Options: content (the text), dest (the path), mode (octal, "0600"), validate (a command with
%s, optional). Returns changed, and dest.
"""

from __future__ import annotations

import shlex

from ansible.errors import AnsibleActionFail
from ansible.module_utils.common.text.converters import to_bytes
from ansible.plugins.action import ActionBase

# $1 the file, $2 its mode; VALIDATE is spliced in (the role's, no secrets). Prints "changed"
# or "mode" when it changed the file; the validator's message goes to stderr.
_WRITE = """\
set -eu
f=$1 mode=$2
umask 077
cat >"$f.new"
if cmp -s "$f.new" "$f"; then
  rm -f "$f.new"
  if [ "$(stat -c %a "$f")" != "${mode#0}" ]; then chmod "$mode" "$f"; echo mode; fi
  exit 0
fi
if ! VALIDATE >&2; then rm -f "$f.new"; exit 3; fi
chmod "$mode" "$f.new"
mv -f "$f.new" "$f"
echo changed
"""
_COMPARE = """\
f=$1 mode=$2
if cmp -s - "$f" && [ "$(stat -c %a "$f")" = "${mode#0}" ]; then echo same; else echo changed; fi
"""


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(("content", "dest", "mode", "validate"))

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars or {})
        args = self._task.args
        content, dest = args.get("content"), args.get("dest")
        mode = str(args.get("mode") or "0600")
        if not isinstance(content, str) or not dest:
            raise AnsibleActionFail("meter_secret_file needs content (text) and dest")
        if not mode.isdigit() or len(mode) != 4:
            raise AnsibleActionFail(f"mode must be four octal digits, such as \"0600\": {mode}")
        validate = args.get("validate") or "true"
        script = _COMPARE if self._task.check_mode else _WRITE.replace(
            "VALIDATE", validate.replace("%s", '"$f.new"'))
        # sh -c SCRIPT sh DEST MODE: the paths as arguments, the content on stdin. No tty
        # (raw's default), so stdout and stderr stay apart and stdin is the content alone.
        if "use_tty" in getattr(self._connection, "_options", {}):
            self._connection.set_option("use_tty", False)
        cmd = " ".join(shlex.quote(a) for a in ("/bin/sh", "-c", script, "sh", dest, mode))
        # Bytes: the connections' stdin is (ssh converts a str; local hands it to Popen as is).
        done = self._low_level_execute_command(cmd, executable=False, in_data=to_bytes(content))
        result["dest"] = dest
        if done["rc"] != 0:
            result.update(failed=True, rc=done["rc"], stderr=done["stderr"].strip(),
                          msg=f"writing {dest} failed (exit {done['rc']}): {done['stderr'].strip()}")
            return result
        result["changed"] = done["stdout"].strip().splitlines()[-1:] in (["changed"], ["mode"])
        return result
