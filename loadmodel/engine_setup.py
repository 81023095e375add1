# Setting up a MeterModel (loadmodel/engine.py) from its config: the load model it runs, its
# channels and its deliberate faults. Done once per meter, so a module of its own, like
# loadmodel/household_setup.py: a Pico unloads it once the model is built
# (picometer/build.py), and the constructor's code holds no heap for the rest of the run.
# MeterModel.__init__ calls setup().

from loadmodel.engine import ROLE_SUB


def setup(m, cfg, zone=None):
    """Give the MeterModel `m` its zone, load model, channels and faults from `cfg`."""
    if zone is None:
        from core.tz import Zone

        zone = Zone(cfg["timezone"], cfg["tz_rules"])
    m.zone = zone
    m.seed = cfg["seed"]
    m.interval = cfg["interval"]
    # Imported here, not at the top: a Pico W loads only the load model it runs (the other
    # costs it several KiB of heap).
    if cfg["load_model"] == "household":
        from loadmodel.household import Household

        m.load = Household(cfg, zone)
    elif cfg["load_model"] == "replay":
        from loadmodel.replay import ReplayLoad

        m.load = ReplayLoad(cfg, zone)
    else:
        from loadmodel.legacy import LegacyProfile

        m.load = LegacyProfile(cfg, zone)
    # A replay's energy is exact over any span (loadmodel/replay.py), not a sum of
    # rounded minutes.
    m.replay = cfg["load_model"] == "replay"
    m.channels = cfg["channels"]
    m.sub_total = 0
    for ch in m.channels:
        if ch[1] == ROLE_SUB:
            m.sub_total += ch[2]
    f = cfg["faults"]
    m.missing_p = f["missing_p32"]
    m.run_max = f["missing_run_max"]
    m.estimated_p = f["estimated_p32"]
    m.spike_p = f["spike_p32"]
    m.outage_p = f["outage_p32"]
    m.drift_s = f["drift_s_per_day"]
    m.resync = f["drift_resync_days"]
    m.late_p = f["late_p32"]
    m.late_max = f["late_max_days"]
    m.duplicate_p = f["duplicate_p32"]
    m.commissioned = cfg["commissioned_day"]
