"""Ansible callback for bench/bench_ansible_deploy.py --profile: the wall-clock time of each
task (from its start to the next task's start, so it includes the controller's work between
them), and how many hosts ran or skipped it, written as JSON to $METERS_TASK_TIMES.

A task of the linear strategy runs on every host of the play before the next one starts, so
these times add up to the run's and say where it goes. Enabled only by the benchmark:
ANSIBLE_CALLBACK_PLUGINS=bench/ansible_callbacks ANSIBLE_CALLBACKS_ENABLED=task_times.
"""

from __future__ import annotations

import json
import os
import time

from ansible.plugins.callback import CallbackBase


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "task_times"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self) -> None:
        super().__init__()
        self._play = ""
        self._tasks: list[dict] = []
        self._current: dict | None = None

    def _close(self) -> None:
        if self._current is not None:
            self._current["seconds"] = round(time.monotonic() - self._current.pop("_t0"), 3)
            self._tasks.append(self._current)
            self._current = None

    def _start(self, name: str) -> None:
        self._close()
        self._current = {"play": self._play, "task": name, "ran": 0, "skipped": 0,
                         "_t0": time.monotonic()}

    def v2_playbook_on_play_start(self, play) -> None:
        self._close()
        self._play = play.get_name().strip()

    def v2_playbook_on_task_start(self, task, is_conditional) -> None:
        self._start(task.get_name().strip())

    def v2_playbook_on_handler_task_start(self, task) -> None:
        self._start("handler: " + task.get_name().strip())

    def _count(self, key: str) -> None:
        if self._current is not None:
            self._current[key] += 1

    def v2_runner_on_ok(self, result) -> None:
        self._count("ran")

    def v2_runner_on_failed(self, result, ignore_errors=False) -> None:
        self._count("ran")

    def v2_runner_on_skipped(self, result) -> None:
        self._count("skipped")

    def v2_playbook_on_stats(self, stats) -> None:
        self._close()
        path = os.environ.get("METERS_TASK_TIMES")
        if path:
            with open(path, "w") as f:
                json.dump(self._tasks, f, indent=1)
