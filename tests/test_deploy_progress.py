"""scripts/deploy_progress.py, which scripts/up.sh pipes its deploy through: a real
ansible-playbook run in, the plays, the tasks as they run (on a terminal) and the recap out,
the whole run in the log, and exit 1 when a host failed or the run ended without a recap."""

from __future__ import annotations

import io
import os
import subprocess
import sys

from tests.support import REPO

sys.path.insert(0, str(REPO / "scripts"))
import deploy_progress  # noqa: E402

ANSIBLE = REPO / ".venv" / "bin" / "ansible-playbook"
PLAYBOOK = """
- name: Two steps on the controller
  hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - name: First step
      ansible.builtin.command: "true"
      changed_when: false
    - name: Second step
      ansible.builtin.command: "{{ second | default('true') }}"
      changed_when: false
"""


def run(tmp_path, *extra: str) -> tuple[subprocess.CompletedProcess, str]:
    book = tmp_path / "book.yml"
    book.write_text(PLAYBOOK)
    log = tmp_path / "deploy.log"
    env = {**os.environ, "ANSIBLE_NOCOLOR": "1", "ANSIBLE_LOCALHOST_WARNING": "0",
           "ANSIBLE_INVENTORY_UNPARSED_WARNING": "0"}
    play = subprocess.Popen([str(ANSIBLE), "-i", "localhost,", str(book),
                             "-e", f"ansible_python_interpreter={sys.executable}", *extra],
                            stdout=subprocess.PIPE, env=env)
    res = subprocess.run([sys.executable, str(REPO / "scripts" / "deploy_progress.py"), str(log)],
                         stdin=play.stdout, capture_output=True, text=True, timeout=120)
    play.stdout.close()
    play.wait(timeout=60)
    return res, log.read_text()


def test_a_good_run_shows_its_plays_and_recap_and_logs_everything(tmp_path):
    res, log = run(tmp_path)
    assert res.returncode == 0, res.stderr + log[-2000:]
    assert "deploy: play Two steps on the controller" in res.stdout
    assert "deploy: 2 tasks in" in res.stdout and "PLAY RECAP" in res.stdout
    assert "TASK [Second step]" in log and "TASK" not in res.stdout  # no redraws off a terminal


def test_a_failed_host_fails_the_run_naming_it(tmp_path):
    res, log = run(tmp_path, "-e", "second=false")
    assert res.returncode == 1
    assert "deploy: failed on localhost" in res.stderr
    assert "fatal: [localhost]" in log


def test_a_run_without_a_recap_fails(tmp_path):
    log = tmp_path / "deploy.log"
    res = subprocess.run([sys.executable, str(REPO / "scripts" / "deploy_progress.py"), str(log)],
                         input="PLAY [x] ***\nTASK [y] ***\nERROR! something broke\n",
                         capture_output=True, text=True, timeout=30)
    assert res.returncode == 1 and "without a recap" in res.stderr
    assert "ERROR! something broke" in log.read_text()


def test_on_a_terminal_the_running_task_is_redrawn_in_place():
    out = io.StringIO()
    ticks = iter([0.0, 3.0, 7.0, 9.0])
    view = deploy_progress.View(out, tty=True, clock=lambda: next(ticks))
    for line in ("PLAY [Meters] ****\n", "TASK [meter : Backfill 14 days] ****\n",
                 "ok: [m01]\n", "PLAY RECAP ****\n",
                 "m01                        : ok=9    changed=1    unreachable=0    failed=0\n"):
        view.line(line)
    text = out.getvalue()
    assert "\r\x1b[K  task 1 (3 s): meter : Backfill 14 days" in text
    assert "deploy: 1 tasks in 7 s" in text and "ok: [m01]" not in text
    assert view.failed_hosts == []
