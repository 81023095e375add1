"""The real servers Tempest's sinks deliver to, on loopback, each stopped by its PID:
VictoriaMetrics (Debian's, for the InfluxDB line-protocol sink) and the reference MDMS
(`python -m tempest.sinks.reference_mdms`, for the MDMS push)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import requests

from tests.support import REPO
from tests.support.addresses import free_address
from tests.support.processes import kill_process, stop_process
from tests.support.waiting import wait_for

VM_BINARY = "/usr/bin/victoria-metrics"


class _Server:
    proc: subprocess.Popen | None = None
    log: Path

    def stop(self) -> None:
        stop_process(self.proc, 10)

    def kill9(self) -> None:
        kill_process(self.proc, 10)

    def _answers(self, probe: str) -> bool:
        if self.proc.poll() is not None:
            raise RuntimeError(f"{type(self).__name__} exited: "
                               + self.log.read_text(errors="replace")[-2000:])
        try:
            return requests.get(self.url + probe, timeout=2).ok
        except requests.RequestException:
            return False


class VictoriaMetrics(_Server):
    """A real VictoriaMetrics keeping points for 100 years (its default one month would
    silently drop the tests' older days), its data in `folder`; `cpus` pins it to those CPUs
    (a benchmark keeps it off the cores it measures). A test without the binary skips (a
    failure under CI: tests/support/ci_guard.py)."""

    def __init__(self, folder: Path, cpus: set[int] | None = None):
        from tests.support import ci_guard

        ci_guard.require_binary(VM_BINARY, why="Debian's victoria-metrics: scripts/setup.sh "
                                "--test as root")
        self.folder = Path(folder)
        self.cpus = cpus
        self.log = self.folder / "vm.log"
        self.host, self.port = free_address()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> VictoriaMetrics:
        self.folder.mkdir(parents=True, exist_ok=True)
        cpus = self.cpus
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                [VM_BINARY, "-retentionPeriod=100y", f"-storageDataPath={self.folder / 'data'}",
                 f"-httpListenAddr={self.host}:{self.port}", "-loggerLevel=ERROR"],
                stdout=log, stderr=log,
                preexec_fn=(lambda: os.sched_setaffinity(0, cpus)) if cpus else None)
        wait_for(lambda: self._answers("/health"), 30, what="victoria-metrics /health")
        return self

    def export(self, match: str = '{__name__="consumption_reading"}') -> list[dict]:
        # Freshly written points become searchable when VictoriaMetrics flushes (every few
        # seconds); this endpoint does it now.
        requests.get(self.url + "/internal/force_flush", timeout=10).raise_for_status()
        r = requests.post(self.url + "/api/v1/export", data={"match[]": match}, timeout=30)
        r.raise_for_status()
        return [json.loads(line) for line in r.text.splitlines() if line.strip()]

    def samples(self) -> dict[tuple[str, str], dict[int, list[float]]]:
        """(serial, datastream) -> {timestamp ms: [values, duplicates kept]}."""
        out: dict = {}
        for s in self.export():
            series = out.setdefault((s["metric"]["serial"], s["metric"]["datastream"]), {})
            for ts, v in zip(s["timestamps"], s["values"], strict=True):
                series.setdefault(ts, []).append(v)
        return out

    def cpu_seconds(self) -> float:
        """CPU time it has used (user + system), from /proc."""
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def settle(self, timeout: float = 15.0) -> None:
        """Wait until it is idle, or give up quietly after `timeout` (a benchmark's phases:
        background merges of what one wrote would otherwise run into, and bill, the next)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            before = self.cpu_seconds()
            time.sleep(0.5)
            if self.cpu_seconds() - before < 0.02:
                return


class ReferenceMdms(_Server):
    """`python -m tempest.sinks.reference_mdms` keeping what it receives in `folder`."""

    def __init__(self, folder: Path, api_key: str | None = "mdms-test-key",
                 stall_seconds: float = 3.0):
        self.folder = Path(folder)
        self.api_key = api_key
        self.stall_seconds = stall_seconds
        self.log = self.folder.with_name(self.folder.name + ".log")
        self.host, self.port = free_address()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> ReferenceMdms:
        cmd = [sys.executable, "-m", "tempest.sinks.reference_mdms", "--host", self.host,
               "--port", str(self.port), "--dir", str(self.folder),
               "--stall-seconds", str(self.stall_seconds)]
        if self.api_key:
            cmd += ["--api-key", self.api_key]
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(cmd, stdout=log, stderr=log, cwd=REPO)
        wait_for(lambda: self._answers("/"), 20, what="the reference MDMS")
        return self

    def mode(self, mode: str, count: int | None = None, match: str | None = None,
             seconds: float = 0.0) -> None:
        r = requests.post(self.url + "/_admin/mode", json={
            "mode": mode, "count": count, "match": match, "seconds": seconds}, timeout=5,
            headers={"x-api-key": self.api_key or ""})  # /_admin/* needs the receiver's key
        r.raise_for_status()

    def requests(self) -> list[dict]:
        path = self.folder / "requests.jsonl"
        if not path.exists():
            return []
        return [json.loads(x) for x in path.read_text().splitlines() if x.strip()]

    def accepted(self) -> list[dict]:
        return [r for r in self.requests() if r["outcome"] == "accepted"]
