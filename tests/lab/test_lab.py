"""The lab fleet works: SSH per address, address pinning, Ansible, the rsync drop account,
lifecycle, and the real cron daemon isolated from the machine's own cron jobs.

Cron fires on minute boundaries, so the cron probes are set up when the module starts and
checked by the last tests: the wait overlaps everything else.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import yaml

from tests.support import ci_guard
from tests.support.processes import alive, mount_ns, stop_pids
from tests.support.waiting import wait_for

from .config import REPO
from .cron import CRON, Cron
from .fixtures import skip_lab
from .fleet import Lab, LabConfig, cron_missing, rrsync_available
from .namespace import Namespace
from .sshd import pinned_key_line
from .users import delete_account, lab_users


class CronWatch:
    """Crontabs and a fake machine set up at module start; checked after the next minute."""

    def __init__(self, lab: Lab, cron: Cron, tmp: Path):
        self.lab, self.cron, self.tmp = lab, cron, tmp
        self.markers = tmp / "markers"
        self.markers.mkdir()
        self.m01, self.m02, self.m03 = lab.meters[:3]
        self.pids: list[int] = []
        self.probe: Namespace | None = None
        self.started = time.time()
        self.waited = False
        for host in (self.m01, self.m02, self.m03):
            (host.home / "cron-probe").unlink(missing_ok=True)
        job = "* * * * * touch $HOME/cron-probe\n"
        # The two ways a crontab reaches the lab: crontab -u as root inside the lab, and
        # `crontab -` over SSH (what Ansible's cron module does).
        cron.install(self.m01.user, job)
        result = lab.ssh(self.m02, "crontab -", input=job)
        assert result.returncode == 0, result.stderr
        self._fake_machine(job)

    def _fake_machine(self, user_job: str) -> None:
        """A stand-in machine whose /etc/crontab and /etc/cron.d have minutely root jobs.

        A plain cron started on it (the control) must run them; a lab cron nested in it must
        not, while it does run a user job from its own spool.
        """
        fake = self.tmp / "machine"
        (fake / "cron.d").mkdir(parents=True)
        (fake / "spool").mkdir()
        touch = f"root touch {self.markers}/{{}}-$(readlink /proc/self/ns/mnt | tr -dc 0-9)"
        (fake / "crontab").write_text(f"* * * * * {touch.format('crontab')}\n")
        (fake / "cron.d" / "machinejob").write_text(f"* * * * * {touch.format('crond')}\n")
        # The lab's copy of cron's PAM file too (pam_loginuid made optional, see namespace.py),
        # so the control works in containers.
        script = (f"set -e; mount --bind {fake}/crontab /etc/crontab; "
                  f"mount --bind {fake}/cron.d /etc/cron.d; "
                  f"mount --bind {fake}/spool /var/spool/cron/crontabs; "
                  f"mount --bind {self.lab.ns.root}/pam-cron /etc/pam.d/cron; "
                  "mount -t tmpfs fake-run /run; echo ready; exec sleep infinity")
        holder = subprocess.Popen(
            ["unshare", "--mount", "--propagation", "private", "--", "sh", "-c", script],
            stdout=subprocess.PIPE, start_new_session=True)
        self.pids.append(holder.pid)
        assert holder.stdout.readline().strip() == b"ready"
        enter = ("nsenter", f"--target={holder.pid}", "--mount", "--")
        self.fake_ns = mount_ns(holder.pid)
        control = subprocess.Popen([*enter, CRON, "-f"], start_new_session=True)
        self.pids.append(control.pid)
        self.probe = Namespace(self.tmp / "probe", launcher=enter)
        self.probe.start()
        self.probe_ns = mount_ns(self.probe.pid)
        probe_cron = Cron(self.tmp / "probe", self.probe)
        probe_cron.install(self.m03.user, user_job)
        probe_cron.start()
        self.pids.append(probe_cron.pid)

    def marker(self, kind: str, ns: str) -> Path:
        return self.markers / f"{kind}-{''.join(c for c in ns if c.isdigit())}"

    def wait(self) -> None:
        """Until the jobs of the first minute that starts 2 s after set-up have run."""
        if self.waited:
            return
        self.waited = True
        boundary = (int(self.started + 2) // 60 + 1) * 60
        expected = [self.m01.home / "cron-probe", self.m02.home / "cron-probe",
                    self.m03.home / "cron-probe", self.marker("crontab", self.fake_ns),
                    self.marker("crond", self.fake_ns)]
        wait_for(lambda: all(p.exists() for p in expected), boundary + 20 - time.time(), 0.2,
                 "the first minute's cron jobs")
        time.sleep(2)  # jobs of one minute start together; give any stray one time to land

    def close(self) -> None:
        for host in (self.m01, self.m02):
            self.cron.remove(host.user)
        for host in (self.m01, self.m02, self.m03):
            (host.home / "cron-probe").unlink(missing_ok=True)
        stop_pids(self.pids)
        if self.probe is not None:
            self.probe.stop()


@pytest.fixture(scope="module", autouse=True)
def cron_watch(lab: Lab, request, tmp_path_factory):
    if cron_missing(lab):
        yield None  # the cron tests skip through lab_cron with the reason
        return
    cron = request.getfixturevalue("lab_cron")
    watch = CronWatch(lab, cron, tmp_path_factory.mktemp("cron"))
    yield watch
    watch.close()


def _primary_address() -> str | None:
    """This machine's outward IPv4 address, if it has one (no packet is sent)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))
            address = probe.getsockname()[0]
        except OSError:
            return None
    return None if address.startswith("127.") else address


# -- SSH ---------------------------------------------------------------------------------


def test_every_host_answers_as_itself_on_its_own_address(lab: Lab):
    def whoami(host):
        return host, lab.ssh(host, 'echo "$(id -un) $HOME $SSH_CONNECTION"')

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(whoami, lab.hosts))
    assert len(results) == lab.config.meters + 1
    for host, result in results:
        assert result.returncode == 0, f"{host.name}: {result.stderr}"
        user, home, _client, _port, server, _server_port = result.stdout.split()
        assert (user, home, server) == (host.user, str(host.home), host.address)


def test_pinning_refuses_an_account_on_any_other_address(lab: Lab):
    m01, m02, tempest, drop = lab.meters[0], lab.meters[1], lab.tempest, lab.drop
    for host, address in [(m01, m02.address), (m01, tempest.address), (tempest, m01.address),
                          (m02, m01.address), (drop, m01.address)]:
        result = subprocess.run(lab.ssh_argv(host, "true", address=address),
                                capture_output=True, text=True, timeout=30)
        assert result.returncode == 255, (host.user, address, result.stdout)
        assert "Permission denied" in result.stderr
    log = lab.sshd.log.read_text()
    assert f"User {m01.user} from 127.0.0.1 not allowed because listed in DenyUsers" in log


def test_root_and_the_machines_own_address_are_refused(lab: Lab):
    m01 = lab.meters[0]
    result = subprocess.run(lab.ssh_argv(m01, "true", user="root"), capture_output=True)
    assert result.returncode == 255
    outward = _primary_address()
    if outward is None:
        return
    # The listener is on 0.0.0.0, but no lab account may log in on a non-lab address.
    argv = lab.ssh_argv(m01, "true", address=outward)
    argv[argv.index(f"UserKnownHostsFile={lab.known_hosts}")] = "UserKnownHostsFile=/dev/null"
    argv[argv.index("StrictHostKeyChecking=yes")] = "StrictHostKeyChecking=no"
    result = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    assert result.returncode == 255 and "Permission denied" in result.stderr


# -- Ansible and the inventory -------------------------------------------------------------


def test_ansible_ping_reaches_every_host(lab: Lab):
    # cwd = the lab folder, so this checks the lab alone, not the repository's ansible.cfg.
    result = lab.ansible("all", "-m", "ansible.builtin.ping", "-f", str(len(lab.hosts)),
                         cwd=lab.dir)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("| SUCCESS") == len(lab.hosts) >= 21


def test_inventory_names_every_host_with_its_connection(lab: Lab, lab_inventory: Path):
    groups = yaml.safe_load(lab_inventory.read_text())["all"]["children"]
    assert list(groups["tempest"]["hosts"]) == [lab.tempest.name]
    assert list(groups["meters"]["hosts"]) == [m.name for m in lab.meters]
    m01 = groups["meters"]["hosts"][lab.meters[0].name]
    assert m01["ansible_host"] == "127.0.0.11"
    assert m01["ansible_port"] == lab.config.port
    assert m01["ansible_user"] == lab.meters[0].user
    assert m01["ansible_ssh_private_key_file"] == str(lab.key)
    assert m01["ansible_python_interpreter"] == "/usr/bin/python3"
    assert f"UserKnownHostsFile={lab.known_hosts}" in m01["ansible_ssh_common_args"]


def test_a_partial_inventory_with_extra_variables(lab: Lab, tmp_path: Path):
    path = lab.write_inventory(tmp_path / "hosts.yml", hosts=[lab.tempest, lab.meters[0]],
                               hostvars={lab.meters[0].name: {"meter_serial": "LAB0001"}},
                               groupvars={"meters": {"meter_interval_min": 5}})
    groups = yaml.safe_load(path.read_text())["all"]["children"]
    assert list(groups["meters"]["hosts"]) == [lab.meters[0].name]
    assert groups["meters"]["hosts"][lab.meters[0].name]["meter_serial"] == "LAB0001"
    assert groups["meters"]["vars"] == {"meter_interval_min": 5}


# -- Lifecycle -----------------------------------------------------------------------------


def test_up_again_is_fast_and_keeps_the_running_sshd(lab: Lab):
    pid = lab.sshd.pid
    began = time.monotonic()
    assert lab.up() is False
    assert time.monotonic() - began < 3
    assert lab.sshd.pid == pid


def test_lab_cron_files_are_the_labs_own(lab: Lab):
    if not lab.ns.enabled:
        skip_lab("a mount namespace for the lab", [lab.namespace_problem], lab)
    assert lab.run(["cat", "/etc/crontab"]).stdout == (lab.ns.root / "crontab").read_text()
    assert lab.run(["ls", "-A", "/etc/cron.d"]).stdout == ""
    assert lab.run(["test", "-d", "/run/sshd"]).returncode == 0
    assert Path("/etc/crontab").read_text() != (lab.ns.root / "crontab").read_text()


def test_status_command_reports_the_running_lab(lab: Lab):
    result = subprocess.run([sys.executable, "-m", "tests.lab", "status"], cwd=REPO,
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["sshd_pid"] == lab.sshd.pid


def test_down_stops_every_lab_process(lab: Lab, tmp_path: Path):
    """A separate one-meter lab (own prefix, port and folder) brought up, down and purged."""
    with socket.socket() as probe:
        probe.bind(("0.0.0.0", 0))
        port = probe.getsockname()[1]
    mini = Lab(LabConfig.from_env(meters=1, dir=tmp_path / "lab", port=port, prefix="labx-"))
    assert mini.up() is True
    try:
        result = mini.ssh(mini.meters[0], "nohup sleep 600 >/dev/null 2>&1 & echo $!")
        straggler = int(result.stdout)
        if not cron_missing(mini):
            mini.cron.start()
        pids = [mini.sshd.pid, mini.ns.pid, straggler, mini.cron.pid]
        assert all(alive(p) for p in pids if p is not None)
    finally:
        mini.down()
        for user in lab_users("labx-"):
            delete_account(user)
    assert not any(alive(p) for p in pids if p is not None)
    with socket.socket() as probe:
        # The port is free again: nothing listens on it. SO_REUSEADDR, because the connections
        # sshd closed as it stopped linger in TIME_WAIT on that port for a minute, which is no
        # process of the lab's (a listener would still make this bind fail).
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind(("0.0.0.0", port))


# -- The rsync drop account ----------------------------------------------------------------


@pytest.fixture
def drop_file(lab: Lab, tmp_path: Path):
    if not rrsync_available():
        ci_guard.skip_missing("rrsync", "apt-get install rsync")
    # The controller's key lands in a hidden folder of its own: a Tempest deployed into the lab
    # by the playbook tests may be watching the drop folder, and its ingest leaves hidden names
    # alone (it would quarantine a probe).
    source = tmp_path / ".labprobe_2026-01-01.json"
    source.write_text("{}\n")
    yield source
    for path in lab.config.drop_probe_dir.glob(".labprobe*"):
        path.unlink()


def _rsync(lab: Lab, *args: str, key: Path | None = None) -> subprocess.CompletedProcess:
    ssh = lab.rsync_ssh() if key is None else lab.rsync_ssh().replace(str(lab.key), str(key))
    return subprocess.run(["rsync", "-e", ssh, *args], capture_output=True, text=True,
                          timeout=60)


def test_drop_account_accepts_rsync_into_its_keys_folder_only(lab: Lab, drop_file: Path):
    target = f"{lab.drop.user}@{lab.drop.address}:"
    assert _rsync(lab, str(drop_file), target).returncode == 0
    landed = lab.config.drop_probe_dir / drop_file.name
    assert landed.read_text() == "{}\n"
    assert landed.group() == lab.tempest.user  # setgid folder: Tempest may move it
    assert not (lab.config.drop_dir / drop_file.name).exists()
    assert _rsync(lab, str(drop_file), target + "../").returncode != 0
    assert not (lab.config.drop_dir / drop_file.name).exists()
    assert _rsync(lab, target + drop_file.name, str(drop_file.parent / "back")).returncode != 0
    shell = lab.ssh(lab.drop, "id")
    assert shell.returncode != 0 and "rrsync" in shell.stderr


def test_drop_account_takes_parallel_uploads(lab: Lab, drop_file: Path):
    sources = []
    for i in range(5):
        sources.append(drop_file.with_name(f".labprobe_{i}.json"))
        sources[-1].write_text(f"{i}\n")
    target = f"{lab.drop.user}@{lab.drop.address}:"
    with ThreadPoolExecutor(5) as pool:
        results = list(pool.map(lambda s: _rsync(lab, str(s), target), sources))
    assert [r.returncode for r in results] == [0] * 5, [r.stderr for r in results]


def test_tempest_account_can_authorise_a_meter_key_for_the_drop(lab: Lab, drop_file: Path,
                                                               tmp_path: Path):
    key = tmp_path / "meter_key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "labprobe",
                    "-f", str(key)], check=True)
    target = f"{lab.drop.user}@{lab.drop.address}:"
    assert _rsync(lab, str(drop_file), target, key=key).returncode != 0
    public = Path(f"{key}.pub").read_text().strip()
    line = pinned_key_line(lab.config, public, lab.config.drop_probe_dir)
    keys_file = lab.config.drop_keys_file
    # As the Tempest account, over SSH, the way its Ansible role would (no become).
    result = lab.ssh(lab.tempest, f"echo '{line}' >> {keys_file}")
    assert result.returncode == 0, result.stderr
    try:
        assert _rsync(lab, str(drop_file), target, key=key).returncode == 0
    finally:
        lab.ssh(lab.tempest, f"sed -i '/labprobe$/d' {keys_file}")


# -- Cron (last: these wait for the minute boundary the probes were set up before) --------


def test_cron_runs_lab_user_crontabs(cron_watch: CronWatch | None, lab_cron: Cron):
    cron_watch.wait()
    for host in (cron_watch.m01, cron_watch.m02):
        probe = host.home / "cron-probe"
        assert probe.exists(), f"{host.user}'s job did not run; see {lab_cron.log}"
        assert probe.stat().st_mtime >= cron_watch.started


def test_cron_does_not_run_the_machines_crontab_jobs(cron_watch: CronWatch | None,
                                                     lab_cron: Cron):
    cron_watch.wait()
    # Control: on the fake machine a plain cron runs its /etc/crontab and /etc/cron.d jobs...
    assert cron_watch.marker("crontab", cron_watch.fake_ns).exists()
    assert cron_watch.marker("crond", cron_watch.fake_ns).exists()
    # ...and the lab cron nested in it was alive that minute (it ran its user's job),
    assert (cron_watch.m03.home / "cron-probe").exists()
    # ...yet none of the machine's jobs ran inside the lab.
    assert not cron_watch.marker("crontab", cron_watch.probe_ns).exists()
    assert not cron_watch.marker("crond", cron_watch.probe_ns).exists()
