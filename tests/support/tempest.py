"""A real Tempest for tests and benchmarks, on a loopback address of its own.

    tempest = Tempest(tmp_path / "data", TEMPEST_INGEST_BATCH=8).start()
    tempest.post("api/v1/days", data=..., headers={"x-api-key": key})
    tempest.kill9(); tempest.start()      # a crash, and a restart on the same address
    tempest.stop()                        # SIGTERM by PID, SIGKILL after the timeout

Two ways to run it, as docs/operations.md describes them: `python -m tempest serve` (web and
ingest worker in one process; the default), or gunicorn with `tempest.wsgi:app` and, beside
it, `python -m tempest ingest --watch` (gunicorn_workers=N). Settings are TEMPEST_* variables
given as keyword arguments; both processes log to one file (`log_path`).
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from pathlib import Path

import requests

from tests.support import REPO
from tests.support.addresses import free_address
from tests.support.processes import descendants, kill_process, stop_process
from tests.support.tempest_client import ADMIN_TOKEN, TempestClient
from tests.support.waiting import WaitTimeout, wait_for

# Quick to notice new files, none held back to settle: tests wait for ingest, not for time.
TEST_SETTINGS = {"TEMPEST_SETTLE_SECONDS": "0", "TEMPEST_RESCAN_SECONDS": "1"}


def store_of(data_dir: Path) -> Path | str:
    """Where a test's Tempest keeps its store: the PostgreSQL database when tests/tempest runs
    on PostgreSQL (TEMPEST_DATABASE_URL, tests/tempest/conftest.py), else the SQLite file in
    its data folder. `tempest.db.connect()` opens either."""
    return os.environ.get("TEMPEST_DATABASE_URL") or Path(data_dir) / "tempest.sqlite3"


def store_config() -> dict:
    """create_app(test_config) ignores the environment: the store setting to add to it."""
    url = os.environ.get("TEMPEST_DATABASE_URL")
    return {"DATABASE_URL": url} if url else {}


class Tempest(TempestClient):
    """Tempest's processes, started and stopped by PID; HTTP to it through TempestClient.

    data_dir: its data folder. log_path: where both processes write (default: beside
    data_dir, `<name>.log`). address: (host, port) to serve on (default: a free one, kept
    across restarts so meters configured for it find it again). gunicorn_workers: 0 for
    `tempest serve`, N for gunicorn with N workers, of `worker_class` (gunicorn's -k; "" for its
    sync worker, or "tempest.web.loopworker.LoopWorker"); ingest_nice: the niceness of the
    ingest worker beside it (docs/operations.md). ingest: run the ingest worker (inside
    `tempest serve`, or beside gunicorn as `tempest ingest --watch`). access_log: log every
    request. admin_token: TEMPEST_ADMIN_TOKEN (None: none set). **env: settings, e.g.
    TEMPEST_INGEST_BATCH=8 (values are turned into strings).
    """

    def __init__(self, data_dir: Path, log_path: Path | None = None, *,
                 address: tuple[str, int] | None = None, gunicorn_workers: int = 0,
                 ingest: bool = True, access_log: bool = False,
                 admin_token: str | None = ADMIN_TOKEN, worker_class: str = "",
                 ingest_nice: int = 0, **env):
        self.data_dir = Path(data_dir)
        self.log_path = Path(log_path or self.data_dir.with_name(self.data_dir.name + ".log"))
        self.host, self.port = address or free_address()
        super().__init__(f"http://{self.host}:{self.port}", admin_token)
        self.gunicorn_workers = gunicorn_workers
        self.worker_class = worker_class  # gunicorn's -k: "" for its sync worker
        self.ingest_nice = ingest_nice  # the ingest worker's niceness beside gunicorn
        self.ingest = ingest
        self.access_log = access_log
        self.env = {**os.environ, **TEST_SETTINGS, "PYTHONUNBUFFERED": "1",
                    **({"TEMPEST_ADMIN_TOKEN": admin_token} if admin_token else {}),
                    **{k: str(v) for k, v in env.items()}}
        self.proc: subprocess.Popen | None = None  # the web side
        self.ingest_proc: subprocess.Popen | None = None  # gunicorn's separate ingest worker

    # -- lifecycle ---------------------------------------------------------------------------

    def web_argv(self) -> list[str]:
        if self.gunicorn_workers:
            return [str(Path(sys.executable).parent / "gunicorn"), "--workers",
                    str(self.gunicorn_workers), "--bind", f"{self.host}:{self.port}",
                    "--log-level", "warning",
                    *(["--worker-class", self.worker_class] if self.worker_class else []),
                    *(["--access-logfile", "-"] if self.access_log else []), "tempest.wsgi:app"]
        return [sys.executable, "-m", "tempest", "serve", "--data-dir", str(self.data_dir),
                "--host", self.host, "--port", str(self.port),
                *([] if self.access_log else ["--no-access-log"]),
                *([] if self.ingest else ["--no-ingest"])]

    def launch(self) -> Tempest:
        """Start the processes and return at once (start() also waits until it answers)."""
        if any(p.poll() is None for p in self.processes()):
            # A second start would lose the running processes' PIDs, and so the way to stop them.
            raise RuntimeError(f"Tempest at {self.url} is running: stop() or kill9() it first")
        env = {**self.env, "TEMPEST_DATA_DIR": str(self.data_dir)}  # gunicorn's only way
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(self.web_argv(), stdout=log, stderr=log, env=env,
                                         cwd=REPO)
            if self.gunicorn_workers and self.ingest:
                nice = ["nice", "-n", str(self.ingest_nice)] if self.ingest_nice else []
                self.ingest_proc = subprocess.Popen(  # nice execs: the PID is the worker's
                    [*nice, sys.executable, "-m", "tempest", "ingest", "--watch", "--data-dir",
                     str(self.data_dir)], stdout=log, stderr=log, env=env, cwd=REPO)
        return self

    def start(self, timeout: float = 30.0, wait_ingest: bool | None = None) -> Tempest:
        """Start (again) on the same address and wait until it answers and, with `ingest`
        (or `wait_ingest`), its ingest worker has reported (its start-up scan is done).
        RuntimeError, with the log's tail, if it exits or does not come up in time (and
        then nothing of it is left running)."""
        wait_ingest = self.ingest if wait_ingest is None else wait_ingest
        self.launch()

        def up() -> bool:
            for proc in self.processes():
                if proc.poll() is not None:
                    raise RuntimeError(f"tempest exited {proc.returncode}: {self.log_tail()}")
            return self.ready(wait_ingest)

        try:
            wait_for(up, timeout, what=f"Tempest at {self.url}")
        except (RuntimeError, WaitTimeout) as exc:
            self.stop()
            if isinstance(exc, RuntimeError):
                raise
            raise RuntimeError(f"tempest did not come up: {self.log_tail()}") from exc
        return self

    def ready(self, ingest: bool = True) -> bool:
        """It answers /api/v1/health and, with `ingest`, its ingest worker runs."""
        with contextlib.suppress(requests.RequestException, ValueError, KeyError):
            r = requests.get(self.endpoint("api/v1/health"), timeout=2)
            return r.ok and (not ingest or r.json()["ingest"]["running"] is True)
        return False

    def stop(self, timeout: float = 15.0) -> None:
        """SIGTERM each of its processes by PID; SIGKILL what is left after `timeout`."""
        for proc in self.processes():
            stop_process(proc, timeout)

    def kill9(self) -> None:
        """SIGKILL, as a crash or a power cut would end it."""
        for proc in self.processes():
            kill_process(proc)

    def processes(self) -> list[subprocess.Popen]:
        return [p for p in (self.proc, self.ingest_proc) if p is not None]

    def pids(self) -> list[int]:
        """Every PID of it now: the processes started and theirs (gunicorn's workers)."""
        return [pid for p in self.processes() for pid in (p.pid, *descendants(p.pid))]

    def log_tail(self, chars: int = 2000) -> str:
        if not self.log_path.exists():
            return "(no log)"
        return self.log_path.read_text(errors="replace")[-chars:]

    # -- its store, from the command line ------------------------------------------------------

    def add_meter(self, serial: str, key: str | None = None) -> str:
        """`tempest meters add SERIAL` on its data folder (running or not): the meter's key,
        `key` if given (--key-stdin), else a new one (--rotate: even if it had one)."""
        from click.testing import CliRunner

        from tempest.cli import main

        argv = ["meters", "add", serial, "--data-dir", str(self.data_dir),
                *(["--key-stdin"] if key else ["--rotate"])]
        settings = {k: v for k, v in self.env.items() if k.startswith("TEMPEST_")}
        res = CliRunner().invoke(main, argv, input=f"{key}\n" if key else None, env=settings)
        assert res.exit_code == 0, res.output
        return key or res.stdout.strip().splitlines()[-1]
