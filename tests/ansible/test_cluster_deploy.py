"""playbooks/cluster.yml deploys a Tempest cluster onto lab hosts over real SSH (docs/deploy.md,
"A Tempest cluster"): the postgres role's PostgreSQL on one host, two Tempest nodes on it, the
balancer role's HAProxy in front of them. Then, through the balancer, a meter's heartbeat and
day are stored once in PostgreSQL and each node shows them; a second run changes nothing.

The meter here is the test itself, speaking a meter's two HTTP routes to the balancer with a key
the tempest role issued (tempest_meter_keys): a deployed Pi would add minutes and prove nothing
more about the cluster (test_fleet.py deploys Pis). Where the example inventory points its
meters is checked in test_cluster_inventory.py.

Hosts: four lab meter accounts that neither test_fleet.py (the first six) nor test_roles.py
(the last four) uses. The wheels are built into this test's own wheelhouse, seeded with the
dependency wheels the other Ansible tests' builds hold (the PostgreSQL driver is fetched once).
"""

from __future__ import annotations

import os
import stat
from contextlib import closing
from dataclasses import replace
from pathlib import Path

import pytest

from tests.lab.config import Host
from tests.lab.fleet import Lab
from tests.support import ci_guard
from tests.support.tempest_client import TempestClient
from tests.support.waiting import wait_for
from tests.tempest.tempest_testdata import make_day

from .conftest import FIRST_METERS
from .fleet import TEMPEST_PORT, VAULT_PASSWORD, Fleet, Run

pytestmark = pytest.mark.slow

ADMIN_TOKEN = "cluster-admin-token-0123456789abcdef"
DB_PASSWORD = "cluster-db-password-0123456789"
SECRET_KEY = "cluster-session-key-0123456789abcdef"
SERIAL = "CLU0001"
METER_KEY = "cluster-meter-key-0123456789abcdef"
DAY = "2024-05-26"  # a fixed day: the test never reads the clock
PG_PORT = 5432
BALANCER_PORT = 8002
PG_BIN = Path("/usr/lib/postgresql/15/bin")
ROLE_TEST_METERS = 4  # test_roles.py's, at the end of the lab's meters
HOSTS = 4  # postgres, two Tempest nodes, the balancer


def _seed_wheelhouse(fleet: Fleet, lab: Lab) -> None:
    """The dependency wheels other Ansible tests' builds hold, linked in (no download)."""
    fleet.wheelhouse.mkdir(parents=True, exist_ok=True)
    for shared in (lab.dir / "ansible" / "wheelhouse", lab.dir / "ansible-roles" / "wheelhouse"):
        for wheel in shared.glob("*.whl") if shared.is_dir() else []:
            target = fleet.wheelhouse / wheel.name
            if not wheel.name.startswith("meters-") and not target.exists():
                os.link(wheel, target)


class Cluster:
    def __init__(self, lab: Lab, fleet: Fleet, hosts: list[Host]):
        self.lab, self.fleet = lab, fleet
        db, n1, n2, lb = hosts
        self.db = replace(db, group="postgres")
        self.nodes = [replace(n1, group="tempest"), replace(n2, group="tempest")]
        self.balancer = replace(lb, group="balancer")
        self.hosts = [self.db, *self.nodes, self.balancer]

    def inventory(self) -> Path:
        src, wheels = str(self.fleet.src), str(self.fleet.wheelhouse)
        groupvars = {
            "all": {
                "tempest_port": TEMPEST_PORT,
                "postgres_db_password": DB_PASSWORD,
                "tempest_source_dir": src, "tempest_wheelhouse_dir": wheels,
                "meter_source_dir": src, "meter_wheelhouse_dir": wheels,
                "wheelhouse_source_dir": src, "wheelhouse_dir": wheels,
                # No root in the lab (docs/lab.md): the machine has the packages already.
                "postgres_system_packages": [], "tempest_system_packages": [],
                "balancer_system_packages": [], "meter_system_packages": [],
            },
            "postgres": {
                "postgres_listen_address": "{{ ansible_host }}",
                "postgres_port": PG_PORT,
                "postgres_bin_dir": str(PG_BIN),
                # Every lab host connects from 127.0.0.1 (one machine), not from its address.
                "postgres_allowed_clients": ["127.0.0.0/8"],
            },
            "tempest": {
                "tempest_cluster_enabled": True,
                "tempest_bind_address": "{{ ansible_host }}",
                "tempest_service_manager": "pidfile",
                "tempest_admin_token": ADMIN_TOKEN,
                "tempest_secret_settings": {"SECRET_KEY": SECRET_KEY},
                "tempest_settings": {"TRUSTED_PROXIES": 1, "RESCAN_SECONDS": 5},
                "tempest_meter_keys": {SERIAL: METER_KEY},
                # No drop account of its own: the keys go into a file the node's account owns.
                "tempest_drop_manage_account": False,
                "tempest_drop_keys_file": "{{ ansible_facts['user_dir'] }}/.ssh/drop_authorized_keys",
            },
            "balancer": {
                "balancer_bind_address": "{{ ansible_host }}",
                "balancer_port": BALANCER_PORT,
                # Quick checks: a node that stops is out within a second (the test stops one).
                "balancer_check_interval_ms": 250,
                "balancer_check_fall": 1,
            },
        }
        path = self.fleet.root / "cluster.yml"
        return self.lab.write_inventory(path, hosts=self.hosts, groupvars=groupvars)

    def run(self) -> Run:
        return self.fleet.playbook("cluster.yml", inventory=self.inventory()).check()

    def crontab(self, host: Host) -> str:
        return self.lab.run(["crontab", "-u", host.user, "-l"]).stdout

    def stop(self, host: Host) -> None:
        """What the roles started on the host stops, by its PID file (through each role's own
        control script or pg_ctl), and cron can no longer start it again."""
        self.lab.run(["crontab", "-u", host.user, "-r"])  # fails, harmlessly, when there is none
        done = self.lab.ssh(host, "[ ! -x ~/tempest/tempest-ctl ] || ~/tempest/tempest-ctl stop; "
                                  "[ ! -x ~/balancer/balancer-ctl ] || ~/balancer/balancer-ctl stop; "
                                  f"[ ! -f ~/postgres/data/postmaster.pid ] || {PG_BIN}/pg_ctl "
                                  "-D ~/postgres/data -m fast -w stop")
        assert done.returncode == 0, done.stderr

    def fresh(self) -> None:
        for host in self.hosts:
            self.stop(host)
            done = self.lab.ssh(host, "rm -rf ~/tempest ~/postgres ~/balancer ~/.ansible "
                                      "~/.ssh/drop_authorized_keys")
            assert done.returncode == 0, done.stderr

    def database(self):
        import psycopg

        return psycopg.connect(host=self.db.address, port=PG_PORT, dbname="tempest",
                               user="tempest", password=DB_PASSWORD, autocommit=True)


@pytest.fixture(scope="module")
def cluster(lab: Lab) -> Cluster:
    need = FIRST_METERS + 1 + HOSTS + ROLE_TEST_METERS
    if len(lab.meters) < need:
        pytest.skip(f"the cluster deploy test needs {need} lab meters "
                    f"(METERS_LAB_METERS is {len(lab.meters)})")
    ci_guard.require_binary(str(PG_BIN / "initdb"), str(PG_BIN / "pg_ctl"), "/usr/sbin/haproxy",
                            why="Debian's postgresql-15 and haproxy (scripts/setup.sh --test)")
    ci_guard.require_module("psycopg", why="the PostgreSQL driver: pip install -e .[postgres]")
    fleet = Fleet(lab, root=lab.dir / "ansible-cluster")
    fleet.root.mkdir(parents=True, exist_ok=True)
    fleet.vault_password_file.write_text(VAULT_PASSWORD + "\n")  # no vault here; the runner asks
    _seed_wheelhouse(fleet, lab)
    fleet.snapshot()
    hosts = lab.meters[-(ROLE_TEST_METERS + HOSTS):-ROLE_TEST_METERS]
    c = Cluster(lab, fleet, hosts)
    c.fresh()
    yield c
    for host in c.hosts:
        c.stop(host)


def test_the_cluster_deploys_stores_once_and_a_second_run_changes_nothing(cluster: Cluster):
    first = cluster.run()
    db, nodes, lb = cluster.db, cluster.nodes, cluster.balancer
    assert all(first.recap[h.name]["changed"] > 0 for h in cluster.hosts), first.recap
    # PostgreSQL: the host's own cluster, run by its account, its data private.
    data = db.home / "postgres" / "data"
    assert (data / "PG_VERSION").read_text().strip() == "15"
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    assert "#Ansible: postgres watchdog" in cluster.crontab(db)
    # Each node: the shared store in its settings, the password only in its secrets folder.
    for node in nodes:
        base = node.home / "tempest"
        toml = (base / "data" / "tempest.toml").read_text()
        assert f"DATABASE_URL = \"postgresql://tempest@{db.address}:{PG_PORT}/tempest?passfile=" \
            in toml and DB_PASSWORD not in toml
        passfile = base / "secrets" / "pgpass"
        assert stat.S_IMODE(passfile.stat().st_mode) == 0o600
        assert passfile.read_text() == f"*:*:tempest:tempest:{DB_PASSWORD}\n"
        assert not (base / "data" / "tempest.sqlite3").exists()
    # The balancer: both nodes behind it, health-checked.
    cfg = (lb.home / "balancer" / "haproxy.cfg").read_text()
    for node in nodes:
        assert f"server {node.name} {node.address}:{TEMPEST_PORT} check" in cfg
    assert "option httpchk GET /api/v1/health" in cfg

    # A meter's heartbeat and day, through the balancer.
    front = TempestClient(f"http://{lb.address}:{BALANCER_PORT}", ADMIN_TOKEN)
    meter = {"x-api-key": METER_KEY}
    beat = {"serial": SERIAL, "timestamp": f"{DAY}T10:05:00+12:00", "version": "0.1.0",
            "last_tick": f"{DAY}T10:05:00+12:00", "outbox_backlog": 0, "kind": "pi"}
    r = front.post("api/v1/heartbeats", json=beat, headers=meter)
    assert r.status_code == 200, r.text
    body = make_day(SERIAL, DAY)
    r = front.post("api/v1/days", data=body,
                   headers={**meter, "Content-Type": "application/json"})
    assert r.status_code in (200, 201, 202), r.text
    # The same day again, as a meter resends after a lost answer: still stored once.
    r = front.post("api/v1/days", data=body,
                   headers={**meter, "Content-Type": "application/json"})
    assert r.status_code in (200, 201, 202), r.text

    with closing(cluster.database()) as conn:
        def stored() -> int:
            return conn.execute("SELECT count(*) FROM days WHERE serial = %s",
                                (SERIAL,)).fetchone()[0]

        wait_for(lambda: stored() >= 1, timeout=60, what=f"{SERIAL}'s day in PostgreSQL")
        days = conn.execute("SELECT count(*), max(versions) FROM days WHERE serial = %s "
                            "AND reading_day = %s", (SERIAL, DAY)).fetchone()
        beats = conn.execute("SELECT count(*) FROM heartbeats WHERE serial = %s",
                             (SERIAL,)).fetchone()[0]
    assert tuple(days) == (1, 1) and beats == 1

    # Either node shows the same meter, day and readings: they share the store. The file as
    # delivered is archived by the node that ingested it (docs/deploy.md, section 8).
    served, series = [], []
    for node in nodes:
        direct = TempestClient(f"http://{node.address}:{TEMPEST_PORT}", ADMIN_TOKEN)
        shown = direct.get(f"api/v1/meters/{SERIAL}").json()
        assert shown["heartbeats"] == 1 and shown["key"] == "active", shown
        assert list(direct.days(SERIAL)) == [DAY]
        r = direct.get(f"api/v1/meters/{SERIAL}/days/{DAY}/channels/Total", admin=True)
        assert r.status_code == 200, r.text
        series.append(r.json()["readings"])
        served.append(direct.day_file(SERIAL, DAY))
    assert series[0] == series[1] and len(series[0]) == 24 * 12
    assert body in served
    # Each node's ingest worker emptied its own drop folder (the day went to one of them).
    for node in nodes:
        drop = node.home / "tempest" / "data" / "drop"
        wait_for(lambda d=drop: not any(d.rglob("*.json")), timeout=30,
                 what=f"{node.name}'s drop folder empty")

    second = cluster.run()
    assert second.changed() == {h.name: 0 for h in cluster.hosts}, second.explain()
    print(f"cluster.yml: first run {first.seconds:.1f} s, second {second.seconds:.1f} s")
