"""The fleet's control plane over real SSH: site.yml deploys Tempest and the meters onto the
lab fleet, a second run changes nothing, and the other playbooks do what docs/deploy.md says.

The tests run in file order and share one deployed fleet (conftest.py): each leaves the
fleet as a later one expects. Meters: m01..m03 deliver by HTTP, m04 and m05 by rsync, m06 is
added by a test; m02 ticks every minute (the cron test watches it) and is never ticked by hand.
"""

from __future__ import annotations

import time
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import yaml

from tests.support.waiting import wait_for

from .conftest import Deployed
from .fleet import (
    AGENT_PORT,
    TEMPEST_PORT,
    agent_key,
    api_key,
    get_json,
    meter_vars,
    post_json,
)

pytestmark = pytest.mark.slow


def tempest_url(d: Deployed) -> str:
    return f"http://{d.lab.tempest.address}:{TEMPEST_PORT}/"


def agent(d: Deployed, name: str, path: str = "") -> dict:
    return get_json(f"http://{d.host(name).address}:{AGENT_PORT}/{path}")


def tick(d: Deployed, name: str, when: datetime) -> dict:
    """Tick a meter at a chosen time through its agent (as cron would at that time)."""
    at = when.isoformat().replace("+", "%2B")
    code, body = post_json(f"http://{d.host(name).address}:{AGENT_PORT}/tick?at={at}",
                           headers={"x-api-key": agent_key(name)})
    assert code == 200, body
    return body


def local(name: str, day: date, hour: int, minute: int) -> datetime:
    zone = ZoneInfo(meter_vars_of(name)["meter_timezone"])
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=zone)


def meter_vars_of(name: str):
    from tests.lab.config import Host

    return meter_vars(Host(name, "", "", "meters", None))


def stored_files(d: Deployed, serial: str) -> list[dict]:
    return get_json(f"{tempest_url(d)}api/v1/meters/{serial}/files?per_page=1000")["items"]


def stored_on(d: Deployed, serial: str, day: date) -> list[dict]:
    return [f for f in stored_files(d, serial) if f["reading_day"] == day.isoformat()]


def next_free_day(d: Deployed, name: str, offset: int) -> date:
    """A day `offset` days after both today and the meter's last tick, so its ticks always
    write (and Tempest has never seen it), whatever an earlier session left. A meter ticked
    ahead by hand stays ahead of its cron ticks (which then write nothing): the cron-watched
    meter m02 is never used for this."""
    last = agent(d, name).get("last_tick")
    base = max(date.today(), datetime.fromisoformat(last).date() if last else date.today())
    return base + timedelta(days=offset)


# -- deploy ----------------------------------------------------------------------------------

def test_site_deploys_tempest_and_five_meters(deployed):
    run = deployed.first.check()
    hosts = {"tempest01", *(m.name for m in deployed.meters)}
    assert set(run.recap) == hosts
    if deployed.fresh:  # from a wiped host every one of them had work to do
        assert all(run.recap[h]["changed"] > 0 for h in hosts), run.recap
    health = get_json(f"{tempest_url(deployed)}api/v1/health")
    assert health["status"] == "ok"
    print(f"first deploy: {run.seconds:.1f} s {run.changed()}")


def test_second_run_changes_nothing(deployed):
    run = deployed.fleet.playbook("site.yml", inventory=deployed.inventory).check()
    assert run.changed() == {h: 0 for h in run.recap}, run.explain()
    assert len(run.recap) == len(deployed.meters) + 1
    # Each meter was found as the first run left it (the meter role's state.yml): nothing was
    # rendered, registered or started again.
    # Tempest too (the tempest role's state.yml): its settings were not written again.
    for task in ("Render the meter's config.json", "Register the meter's API key",
                 "Check that the agent answers", "Write Tempest's settings file"):
        assert task not in run.stdout, run.explain()
    print(f"second run: {run.seconds:.1f} s, changed {run.changed()}")


def test_a_meter_changed_behind_ansibles_back_is_put_back(deployed):
    """The no-change check looks at the meter too: a config.json edited on the host (as a config
    pushed through the agent does) and a stopped agent make a full run for that meter only."""
    m01 = deployed.host("m01")
    path = m01.home / "meter" / "config.json"
    before = path.read_bytes()
    path.write_bytes(before.rstrip(b"\n") + b"\n\n")  # same owner and mode, other bytes
    stopped = deployed.lab.ssh(m01, "meter/agent-ctl stop")
    assert stopped.returncode == 0, stopped.stderr
    run = deployed.fleet.playbook("site.yml", inventory=deployed.inventory).check()
    assert run.recap["m01"]["changed"] > 0, run.recap
    assert {h: c for h, c in run.changed().items() if h != "m01"} == \
        {h: 0 for h in run.recap if h != "m01"}, run.recap
    assert path.read_bytes() == before
    assert agent(deployed, "m01")["serial"] == "m01"
    again = deployed.fleet.playbook("site.yml", "--limit", "m01", inventory=deployed.inventory).check()
    assert again.changed() == {"m01": 0}, again.explain()
    assert "Render the meter's config.json" not in again.stdout


def test_adding_a_meter_is_an_inventory_edit_and_one_run(deployed):
    new = deployed.lab.meters[len(deployed.meters)]
    deployed.meters.append(new)
    inventory = deployed.fleet.write_inventory(deployed.meters)
    run = deployed.fleet.playbook("site.yml", "--limit", new.name, inventory=inventory).check()
    deployed.notes["added"] = (new.name, time.time())
    assert set(run.recap) == {new.name}, run.recap
    assert agent(deployed, new.name)["serial"] == new.name
    meter = get_json(f"{tempest_url(deployed)}api/v1/meters/{new.name}")
    assert meter["key"] == "active"


def test_each_agent_answers_on_its_own_address_with_its_own_serial(deployed):
    for host in deployed.meters:
        status = agent(deployed, host.name)
        assert status["serial"] == host.name
        assert status["ip"] == host.address
        config = agent(deployed, host.name, "config")
        assert config["archetype"] == meter_vars(host)["meter_archetype"]
        # The agent never shows the meter's secrets.
        assert "tempest_api_key" not in config and "key" not in config["agent"]


def test_ticks_reach_tempest_over_http_and_over_rsync(deployed):
    for name, route, source in (("m01", "http", "upload"), ("m04", "rsync", "rsync")):
        day = next_free_day(deployed, name, 3)
        tick(deployed, name, local(name, day, 23, 50))
        body = tick(deployed, name, local(name, day + timedelta(days=1), 0, 10))
        name_of_day = f"{name}_{day.isoformat()}.json"
        assert body["delivery"]["route"] == route
        assert name_of_day in body["delivery"]["sent"], body
        stored = wait_for(lambda n=name, d=day: stored_on(deployed, n, d), timeout=30,
                          interval=1, what=f"{name_of_day} in Tempest", ignore=(OSError,))
        assert stored[0]["source"] == source
        assert stored[0]["day_status"] == "sealed"


def test_an_rsync_meters_key_writes_only_its_own_drop_folder(deployed):
    """The roles pin each rsync meter's key to rrsync into its own folder of the drop folder
    (security review, finding 2): m04's key, used by hand on m04, cannot write m05's folder or
    the top of the drop folder."""
    lab = deployed.lab
    drop = lab.config.drop_dir
    lines = lab.config.drop_keys_file.read_text().splitlines()
    for name in ("m04", "m05"):
        [line] = [ln for ln in lines if ln.endswith(f" meters-drop:{name}")]
        assert line.startswith('restrict,command="/usr/bin/rrsync -wo -munge -no-del -no-lock '
                               f'{drop}/{name}" ssh-ed25519 '), line
        assert (drop / name).is_dir()
    assert oct(drop.stat().st_mode & 0o7777) == oct(0o2750)  # the drop account cannot write it
    m04 = deployed.host("m04")
    keys = m04.home / "meter" / "ssh"
    ssh = (f"ssh -p {lab.config.port} -i {keys}/id_ed25519 -o IdentitiesOnly=yes "
           f"-o BatchMode=yes -o UserKnownHostsFile={keys}/known_hosts "
           "-o StrictHostKeyChecking=yes")
    target = f"{lab.drop.user}@{lab.drop.address}:"
    # A hidden name: were it to land anywhere, Tempest's ingest would leave it alone.
    assert lab.ssh(m04, "printf '{}' > ~/.labprobe.json").returncode == 0
    for dest in ("../m05/", "../", f"{drop}/m05/"):
        r = lab.ssh(m04, f"rsync -e '{ssh}' ~/.labprobe.json {target}{dest}")
        assert r.returncode != 0 or not (drop / "m05" / ".labprobe.json").exists(), (dest, r)
    assert not (drop / "m05" / ".labprobe.json").exists()
    assert not (drop / ".labprobe.json").exists()


# -- configure -------------------------------------------------------------------------------

def test_a_bad_value_fails_naming_the_field_and_keeps_the_old_config(deployed):
    path = deployed.host("m01").home / "meter" / "config.json"
    before = path.read_bytes()
    run = deployed.fleet.playbook("configure.yml", "--limit", "m01", "-e", "meter_archetype=dragon",
                                  inventory=deployed.inventory)
    assert run.returncode != 0
    assert "archetype: 'dragon' is not one of" in run.stdout
    assert "keeps its old one" in run.stdout
    assert path.read_bytes() == before
    assert agent(deployed, "m01")["serial"] == "m01"


def test_configure_retunes_one_meter_and_only_that_one(deployed):
    hashes = {h.name: agent(deployed, h.name)["config_hash"] for h in deployed.meters}
    host_vars = deployed.inventory.parent / "host_vars" / "m03.yml"
    original = host_vars.read_text()
    settings = yaml.safe_load(original)
    new = "family" if settings["meter_archetype"] != "family" else "single"
    host_vars.write_text("---\n" + yaml.safe_dump({**settings, "meter_archetype": new}))
    try:
        run = deployed.fleet.playbook("configure.yml", "--limit", "m03",
                                      inventory=deployed.inventory).check()
    finally:
        host_vars.write_text(original)
    assert set(run.recap) == {"m03"} and run.recap["m03"]["changed"] > 0, run.recap
    assert agent(deployed, "m03", "config")["archetype"] == new
    after = {h.name: agent(deployed, h.name)["config_hash"] for h in deployed.meters}
    assert after["m03"] != hashes["m03"]
    assert {k: v for k, v in after.items() if k != "m03"} == \
        {k: v for k, v in hashes.items() if k != "m03"}


# -- collect ---------------------------------------------------------------------------------

def tempest_cli(d: Deployed, args: str, key: str | None = None):
    """The tempest command on the Tempest host, as its account (over SSH)."""
    base = d.lab.tempest.home / "tempest"
    done = d.lab.ssh(d.lab.tempest, f"{base}/venv/bin/tempest {args} --data-dir {base}/data",
                     input=key)
    assert done.returncode == 0, done.stderr
    return done


def test_collect_recovers_days_a_meter_could_not_deliver(deployed):
    """Tempest refuses m03's key (revoked) while the meter seals two days: they wait in its
    outbox (a 401 is retried later, never given up); collect.yml fetches them through the
    controller into Tempest's drop folder, which needs no key."""
    day = next_free_day(deployed, "m03", 3)
    days = [day.isoformat(), (day + timedelta(days=1)).isoformat()]
    outbox = deployed.host("m03").home / "meter" / "var" / "outbox"
    waiting = {f"m03_{d}.json" for d in days}
    # The key stays revoked until the collected days are stored: the lab's cron ticks m03
    # every few minutes, and with its key back it would deliver them itself first.
    tempest_cli(deployed, "meters revoke m03")
    try:
        tick(deployed, "m03", local("m03", day, 0, 10))
        body = tick(deployed, "m03", local("m03", day + timedelta(days=2), 0, 10))
        assert body["delivery"]["sent"] == [] and body["delivery"]["pending"] >= 2, body
        assert waiting <= {p.name for p in outbox.iterdir()}
        assert not [f for f in stored_files(deployed, "m03") if f["reading_day"] in days]

        run = deployed.fleet.playbook("collect.yml", "--limit", "m03", "-e",
                                      f"collect_from={days[0]}", "-e", f"collect_to={days[1]}",
                                      inventory=deployed.inventory).check()
        assert run.recap["m03"]["changed"] > 0
        stored = wait_for(lambda: [f for f in stored_files(deployed, "m03")
                                   if f["reading_day"] in days and f["outcome"] == "stored"],
                          timeout=30, interval=1, what="the collected days in Tempest",
                          ignore=(OSError,))
    finally:
        tempest_cli(deployed, "meters add --key-stdin m03", key=api_key("m03") + "\n")
    assert sorted(f["reading_day"] for f in stored) == days
    assert {f["source"] for f in stored} == {"drop"}
    # The meter did not deliver them itself: they are still waiting in its outbox.
    assert waiting <= {p.name for p in outbox.iterdir()}


# -- upgrade ---------------------------------------------------------------------------------

INSTALL_TASK = "Install the meter package into its virtualenv."
HEALTH_TASK = "Check that Tempest got a heartbeat from the new version."


def _task_sections(stdout: str) -> list[tuple[str, set[str]]]:
    """(task name, hosts that reported under it), in output order."""
    sections = []
    for chunk in stdout.split("\nTASK [")[1:]:
        name = chunk.split("]", 1)[0]
        hosts = {line.split("[", 1)[1].split("]")[0].split(" ")[0]
                 for line in chunk.splitlines() if line.startswith(("ok: [", "changed: ["))}
        sections.append((name, hosts))
    return sections


def test_upgrade_rolls_a_new_version_through_the_fleet(deployed):
    old = agent(deployed, "m01")["version"]
    parts = old.split(".")
    new = ".".join([*parts[:-1], str(int(parts[-1]) + 1)])
    source = deployed.fleet.snapshot(deployed.fleet.root / "src-next", version=new)
    run = deployed.fleet.playbook(
        "upgrade.yml", "-e", f"meter_source_dir={source}", "-e", f"tempest_source_dir={source}",
        "-e", "upgrade_batch=50%", inventory=deployed.inventory).check()
    assert run.stdout.count("PLAY [Upgrade the meters a batch at a time.]") == 2
    sections = _task_sections(run.stdout)
    installs = [i for i, (name, _) in enumerate(sections) if name.endswith(INSTALL_TASK)]
    checks = [i for i, (name, _) in enumerate(sections) if name.endswith(HEALTH_TASK)]
    assert len(installs) == len(checks) == 2
    # The same meters in each batch's install and check...
    assert [sections[i][1] for i in installs] == [sections[i][1] for i in checks]
    # ...and batch two was installed only after every meter of batch one was checked healthy.
    assert installs[0] < checks[0] < installs[1] < checks[1]
    for host in deployed.meters:
        assert agent(deployed, host.name)["version"] == new
        assert get_json(f"{tempest_url(deployed)}api/v1/meters/{host.name}")["version"] == new


# -- cron ------------------------------------------------------------------------------------

def test_cron_ticks_and_sends_heartbeats_on_schedule(deployed, request):
    if deployed.cron is None:
        # Raises lab_cron's own skip again (docs/lab.md: cron needs a mount namespace): the
        # reason, and whether it is a missing dependency that fails CI, are the fixture's.
        request.getfixturevalue("lab_cron")
    since = deployed.finished_at
    beats = get_json(f"{tempest_url(deployed)}api/v1/heartbeats?serial=m02&limit=100")["items"]
    # Cron starts the heartbeat a second into the minute; forced ones (upgrade.yml) come any time.
    on_schedule = {b["received_at"][:16] for b in beats
                   if datetime.fromisoformat(b["received_at"]).timestamp() > since
                   and datetime.fromisoformat(b["received_at"]).second < 25}
    if len(on_schedule) < 2:
        wait_for(lambda: len({b["received_at"][:16] for b in get_json(
            f"{tempest_url(deployed)}api/v1/heartbeats?serial=m02&limit=100")["items"]
            if datetime.fromisoformat(b["received_at"]).timestamp() > since
            and datetime.fromisoformat(b["received_at"]).second < 25}) >= 2,
            timeout=130, interval=5, what="two on-schedule heartbeats from m02",
            ignore=(OSError,))
    # m02 ticks every minute and nobody ticks it by hand: its last interval is a minute ago.
    last_tick = datetime.fromisoformat(agent(deployed, "m02")["last_tick"])
    assert time.time() - last_tick.timestamp() < 150, last_tick
    assert last_tick.timestamp() > since - 60
    # The meter added later was in Tempest within one heartbeat of its deploy.
    name, added_at = deployed.notes["added"]
    first_seen = get_json(f"{tempest_url(deployed)}api/v1/meters/{name}")["first_seen"]
    assert first_seen and datetime.fromisoformat(first_seen).timestamp() - added_at < 75


# -- decommission ----------------------------------------------------------------------------

def test_decommission_takes_a_meter_out(deployed):
    name = deployed.notes["added"][0]
    host = deployed.host(name)
    run = deployed.fleet.playbook("decommission.yml", "--limit", name,
                                  inventory=deployed.inventory).check()
    assert run.recap[name]["changed"] > 0
    with pytest.raises(OSError):
        agent(deployed, name)
    assert deployed.lab.run(["crontab", "-u", host.user, "-l"]).stdout.count("meter") == 0
    assert get_json(f"{tempest_url(deployed)}api/v1/meters/{name}")["key"] == "revoked"
    assert f"meters-drop:{name}" not in deployed.lab.config.drop_keys_file.read_text()
