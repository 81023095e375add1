# The seed's last Pico W firmware (0.3.4) as Tempest sees it on the wire, for MicroPython.
#
# Written for the tests from the facts in docs/seed.md ("The Pico W firmware"), not from the
# seed's code: it joins the Wi-Fi (secrets.py), sets its clock by NTP, and then, on its own
# fixed +12:00 clock (no DST):
# - every tick: adds the interval that just ended to the open day and uploads the open day to
#   {tempest_url}/updates (the seed's "partial file uploaded");
# - at midnight: uploads the finished day once more, and starts the next one;
# - every heartbeat_s: posts {"serial", "ip", "timestamp"} to {tempest_url}/heartbeats.
# tempest_url ends with a slash, so both paths go out as //updates and //heartbeats, with
# x-api-key and Content-Type: application/json. Readings follow the seed's config: the hour's
# `profile` value times each channel's factor, +- `variability`, a spike by `excessive_data`,
# and an interval dropped by `missing_data`. run.json (test only) says how many days to run
# and how often to send a heartbeat (the firmware: every minute, forever). Each finished day
# as sent is kept in /sent/, and the last line printed is a JSON summary.
import gc
import json
import os
import random
import time

import network
import ntptime

try:
    import urequests as requests  # the seed's Pico
except ImportError:
    import requests  # the unix port freezes it under this name

from secrets import PASSWORD, SSID

OFFSET_S = 12 * 3600
VERSION = "0.3.4"


def load(path):
    with open(path) as f:
        return json.load(f)


cfg = load("config.json")
run = load("run.json")
stats = {"heartbeats": 0, "uploads": 0, "finished": 0, "statuses": {}}


def join_wifi():
    wlan = network.WLAN(network.STA_IF)
    wlan.active(True)
    wlan.connect(SSID, PASSWORD)
    while not wlan.isconnected():
        time.sleep_ms(100)
    return wlan.ifconfig()[0]


def local_now():
    return time.time() + OFFSET_S


def stamp(t):
    y, mo, d, h, mi, s = time.gmtime(t)[:6]
    return f"{y:04d}-{mo:02d}-{d:02d}T{h:02d}:{mi:02d}:{s:02d}+12:00"


def day_of(t):
    y, mo, d = time.gmtime(t)[:3]
    return f"{y:04d}-{mo:02d}-{d:02d}"


def post(path, doc):
    gc.collect()  # the open day grows all day: leave the heap room for its JSON
    r = requests.post(cfg["tempest_url"] + path, data=json.dumps(doc),
                      headers={"x-api-key": cfg["tempest_api_key"],
                               "Content-Type": "application/json"})
    status = r.status_code
    r.close()
    key = f"{path} {status}"
    stats["statuses"][key] = stats["statuses"].get(key, 0) + 1
    return status


def metadata():
    config = {}
    for k in cfg:
        if k != "profile":  # the seed's metadata: the config without its profile
            config[k] = cfg[k]
    return {"version": VERSION, "data_model_version": "1.0.0", "config": config}


def payload(day, snapshots, streams):
    return {"serial": cfg["serial"], "reading_day": day, "interval": cfg["interval_min"],
            "snapshots": snapshots, "datastreams": streams, "metadata": metadata()}


def reading(hour, factor):
    v = cfg["profile"][str(hour)] * factor
    v *= 1 + cfg.get("variability", 0) * (2 * random.random() - 1)
    if random.random() < cfg.get("excessive_data", 0):
        v *= 20
    return round(v, 3)


def main():
    ip = join_wifi()
    ntptime.settime()
    random.seed(run.get("seed", 1))
    channels = cfg["channels"]
    interval = cfg["interval_min"] * 60
    registers = {name: 1000.0 for name in channels}
    end = (local_now() // interval + 1) * interval
    day = day_of(end - 1)  # the interval ending at midnight belongs to the day before
    snapshots = dict(registers)
    streams = {name: {} for name in channels}
    next_heartbeat = local_now()
    if "sent" not in os.listdir("/"):
        os.mkdir("/sent")
    while stats["finished"] < run["days"]:
        wait = end - local_now()
        if wait > 0:
            time.sleep(wait)
        if local_now() >= next_heartbeat:
            post("/heartbeats", {"serial": cfg["serial"], "ip": ip,
                                 "timestamp": stamp(local_now())})
            stats["heartbeats"] += 1
            next_heartbeat += run["heartbeat_s"]
        hour = time.gmtime(end - 1)[3]
        for name in channels:
            if random.random() < cfg.get("missing_data", 0):
                continue
            v = reading(hour, channels[name])
            streams[name][stamp(end)] = v
            registers[name] = round(registers[name] + v, 3)
        doc = payload(day, snapshots, streams)
        post("/updates", doc)  # the open day, after every tick
        stats["uploads"] += 1
        if end % 86400 == 0:  # midnight: the day is finished
            post("/updates", doc)
            stats["uploads"] += 1
            stats["finished"] += 1
            with open("/sent/{}_{}.json".format(cfg["serial"], day), "w") as f:
                f.write(json.dumps(doc))
            day = day_of(end)
            snapshots = dict(registers)
            streams = {name: {} for name in channels}
        end += interval
    print(json.dumps(stats))


main()
