"""The OpenAPI 3.1 document of every route (a test fails when a route is missing from it)."""

from __future__ import annotations

from core import __version__

_ERR = {"$ref": "#/components/responses/Error"}
METER = [{"meterKey": []}]
ADMIN = [{"adminBearer": []}, {"adminHeader": []}]
METER_OR_ADMIN = [*METER, *ADMIN]
CONCENTRATOR = [{"concentratorKey": []}]


def _p(name: str, where: str = "path", desc: str = "", schema: dict | None = None,
       required: bool | None = None) -> dict:
    return {"name": name, "in": where, "required": where == "path" if required is None
            else required, "description": desc, "schema": schema or {"type": "string"}}


SERIAL = _p("serial", desc="meter serial: 1-64 of A-Z a-z 0-9 _ . -")
DAY = _p("day", desc="reading day YYYY-MM-DD", schema={"type": "string", "format": "date"})
DATE = _p("date", desc="reading day YYYY-MM-DD", schema={"type": "string", "format": "date"})
PAGE = [_p("page", "query", "page number from 1", {"type": "integer", "minimum": 1}),
        _p("per_page", "query", "items per page (PAGE_SIZE, at most MAX_PAGE_SIZE)",
           {"type": "integer", "minimum": 1})]
LIMIT = _p("limit", "query", "how many (PAGE_SIZE by default)", {"type": "integer"})


def op(summary: str, tag: str, *, params=(), security=None, body: str | None = None,
       ok: str = "200", ok_desc: str = "OK", errors=("400", "404")) -> dict:
    doc: dict = {"summary": summary, "tags": [tag], "parameters": list(params),
                 "responses": {ok: {"description": ok_desc,
                                    "content": {"application/json": {"schema": {}}}}}}
    for code in errors:
        doc["responses"][code] = _ERR
    if security is not None:
        doc["security"] = security
    if body is not None:
        doc["requestBody"] = {"required": True, "description": body,
                              "content": {"application/json": {"schema": {"type": "object"}}}}
    return doc


# 429: the meter's hourly allowance is used up; 507: the disk is below its reserve (both
# with Retry-After; docs/api.md).
UPLOAD_ERRORS = ("400", "401", "403", "413", "422", "429", "503", "507")


def paths() -> dict:
    seed, api, admin = "seed", "api", "admin"
    return {
        "/": {"get": op("Tempest's identity and clock", seed, errors=())},
        "/heartbeats": {"get": op("Last heartbeat per meter, most recent first", seed,
                                  errors=()),
                        "post": op("Heartbeat, as the seed's Pico firmware posted it (the same "
                                   "as POST /heartbeat)", seed, security=METER,
                                   body="{serial, ip, timestamp}",
                                   errors=("400", "401", "403", "503"))},
        "/meters": {"get": op("Every meter with file counts", seed, errors=())},
        "/meter": {"get": op("A meter's days (newest first), or one day's import readings",
                             seed, params=[_p("serial", "query", required=True),
                                           _p("day", "query")])},
        "/meters/{serial}": {"get": op("A meter's payload count", seed, params=[SERIAL])},
        "/meters/{serial}/payloads": {"get": op("A meter's stored days", seed,
                                                params=[SERIAL])},
        "/meters/{serial}/payloads/{date}": {
            "get": op("One day's datastreams with counts and totals", seed,
                      params=[SERIAL, DATE])},
        "/meters/{serial}/payloads/{date}/{datastream}": {
            "get": op("One datastream's readings", seed,
                      params=[SERIAL, DATE, _p("datastream", desc="channel name")])},
        "/payload": {"get": op("A stored day file as received", seed,
                               params=[_p("serial", "query", required=True),
                                       _p("day", "query", required=True)],
                               errors=("400", "404", "503"))},
        "/status": {"get": op("Active and inactive meters, payload counts", seed, errors=())},
        "/heartbeat": {"post": op("Heartbeat (seed shape)", seed, security=METER,
                                  body="{serial, ip, timestamp}",
                                  errors=("400", "401", "403", "503"))},
        "/update": {"post": op("Upload a day file (any accepted shape)", seed, security=METER,
                               body="a day file", ok="202", ok_desc="queued",
                               errors=UPLOAD_ERRORS)},
        "/updates": {"post": op("Upload a day file, as the seed's Pico firmware posted it (the "
                                "same as POST /update)", seed, security=METER, body="a day file",
                                ok="202", ok_desc="queued", errors=UPLOAD_ERRORS)},
        "/api/v1/openapi.json": {"get": op("This document", api, errors=())},
        "/api/v1/health": {"get": op("Liveness and the ingest worker's state", api, errors=())},
        "/api/v1/summary": {"get": op("Fleet summary", api, errors=())},
        "/api/v1/meters": {
            "get": op("Meters, paged", api, params=[
                _p("status", "query", "online | stale | offline | never_seen"),
                _p("q", "query", "serial prefix"),
                _p("route", "query", "upload | rsync | collect | dlms | mqtt | concentrator"),
                *PAGE], errors=("400",)),
            "post": op("Register a meter and issue its key (idempotent)", admin,
                       security=ADMIN, body="{serial, timezone?, key?, rotate?}", ok="201",
                       ok_desc="key issued (200 when unchanged)",
                       errors=("400", "401", "403", "409"))},
        "/api/v1/meters/{serial}": {
            "get": op("One meter", api, params=[SERIAL]),
            "patch": op("Set a meter's time zone", admin, params=[SERIAL], security=ADMIN,
                        body="{timezone}", errors=("400", "401", "403", "404"))},
        "/api/v1/meters/{serial}/key": {
            "post": op("Rotate a meter's key", admin, params=[SERIAL], security=ADMIN,
                       ok="201", errors=("400", "401", "403")),
            "delete": op("Revoke a meter's key", admin, params=[SERIAL], security=ADMIN,
                         errors=("400", "401", "403", "404"))},
        "/api/v1/meters/{serial}/days": {
            "get": op("A meter's days with completeness, newest first", api,
                      params=[SERIAL, _p("from", "query"), _p("to", "query"), *PAGE])},
        "/api/v1/meters/{serial}/days/{day}": {
            "get": op("One day: every channel's readings, the quality, and a sensor meter's "
                      "measurements with their units", api,
                      params=[SERIAL, DAY])},
        "/api/v1/meters/{serial}/days/{day}/events": {
            "get": op("What the meter logged that day (read over DLMS): outages, clock "
                      "adjustments; stored day or not", api, params=[SERIAL, DAY])},
        "/api/v1/meters/{serial}/days/{day}/file": {
            "get": op("The stored version's file as delivered (503 with Retry-After while a "
                      "just-stored day's archive copy is being made)", api,
                      params=[SERIAL, DAY], errors=("400", "404", "503"))},
        "/api/v1/meters/{serial}/days/{day}/channels/{channel}": {
            "get": op("One channel (or measurement, in its unit) of one day", api,
                      params=[SERIAL, DAY, _p("channel", desc="channel or measurement name")])},
        "/api/v1/meters/{serial}/quota": {
            "get": op("A meter's allowances: uploads and bytes left this hour, its quarantine, "
                      "what was dropped", api, params=[SERIAL])},
        "/api/v1/meters/{serial}/files": {
            "get": op("Files delivered for a meter (every version)", api,
                      params=[SERIAL, _p("day", "query"), *PAGE])},
        "/api/v1/meters/{serial}/readings": {
            "get": op("A range of days, resampled", api, params=[
                SERIAL, _p("from", "query", required=True), _p("to", "query", required=True),
                _p("resolution", "query", "interval | 30min | hour | day"),
                _p("channel", "query", "channel name(s), repeated or comma-separated")])},
        "/api/v1/days": {"post": op("Upload a day file", api, security=METER, body="a day file",
                                    ok="202", ok_desc="queued", errors=UPLOAD_ERRORS)},
        "/api/v1/ingest/{ingest_id}": {
            "get": op("The fate of an upload", api, security=METER_OR_ADMIN,
                      params=[_p("ingest_id", desc="20 hex digits")],
                      errors=("401", "403", "404"))},
        "/api/v1/ingest-log": {
            "get": op("Ingest log, newest first", api, params=[
                _p("serial", "query"), _p("event", "query"),
                _p("before", "query", "page back from this id"), LIMIT], errors=("400",))},
        "/api/v1/heartbeats": {
            "get": op("Recent heartbeats, newest first", api,
                      params=[_p("serial", "query"), LIMIT], errors=("400",)),
            "post": op("Heartbeat", api, security=METER, body="{serial, ...} (docs/protocol.md)",
                       errors=("400", "401", "403", "413", "503"))},
        "/api/v1/quarantine": {
            "get": op("Quarantined files (open ones; all=1 for every one)", api,
                      params=[_p("all", "query"), LIMIT], errors=("400",))},
        "/api/v1/quarantine/{qid}": {
            "get": op("One quarantined file's reason", api, params=[_p("qid")]),
            "delete": op("Discard a quarantined file", admin, params=[_p("qid")],
                         security=ADMIN, errors=("401", "403", "404", "409"))},
        "/api/v1/quarantine/{qid}/file": {
            "get": op("A quarantined file's bytes", admin, params=[_p("qid")], security=ADMIN,
                      errors=("401", "403", "404"))},
        "/api/v1/quarantine/{qid}/reingest": {
            "post": op("Send a quarantined file through ingest again", admin,
                       params=[_p("qid")], security=ADMIN, ok="202",
                       errors=("401", "403", "404", "409"))},
        **sink_and_export_paths(),
        **fleet_config_paths(),
        **concentrator_paths(),
        **seed_archive_paths(),
    }


def seed_archive_paths() -> dict:
    """The seed's archive mirror and `POST /upload`, over the MDMS sink
    (tempest/web/seed_archives.py)."""
    seed = "seed"
    streams = _p("datastream", desc="channel name")
    return {
        "/archives": {"get": op("Meters with days forwarded to the MDMS", seed, errors=())},
        "/archives/{serial}": {"get": op("A meter's count of forwarded days", seed,
                                         params=[SERIAL])},
        "/archives/{serial}/payloads": {"get": op("A meter's forwarded days", seed,
                                                  params=[SERIAL])},
        "/archives/{serial}/payloads/{date}": {
            "get": op("One forwarded day's datastreams with counts and totals", seed,
                      params=[SERIAL, DATE])},
        "/archives/{serial}/payloads/{date}/{datastream}": {
            "get": op("One forwarded datastream's readings", seed,
                      params=[SERIAL, DATE, streams])},
        "/upload": {"post": op("Forward every day waiting for the MDMS now, through the sink's "
                               "queue: {uploaded}", seed, security=ADMIN,
                               errors=("401", "403", "409", "502", "503"))},
    }


def sink_and_export_paths() -> dict:
    """The sinks' and exports' routes (tempest/web/api_sinks.py, api_exports.py)."""
    sinks, exports = "sinks", "exports"
    name = _p("name", desc="sink name: influxdb or mdms")
    export_params = [_p("from", "query", "first day YYYY-MM-DD", required=True),
                     _p("to", "query", "last day YYYY-MM-DD (inclusive)", required=True),
                     _p("serial", "query", "serial(s), repeated or comma-separated")]
    return {
        "/api/v1/sinks": {"get": op("Every sink: queue depth, last success and error, dead "
                                    "items", sinks, errors=())},
        "/api/v1/sinks/{name}": {"get": op("One sink's status", sinks, params=[name],
                                           errors=("404",))},
        "/api/v1/sinks/{name}/items": {
            "get": op("A sink's waiting and dead items in delivery order", sinks,
                      params=[name, _p("state", "query", "queued | dead"), LIMIT])},
        "/api/v1/sinks/{name}/retry-dead": {
            "post": op("Put dead items back in their place in the queue", sinks, params=[name],
                       security=ADMIN, body="optional {ids: [item id, ...]}",
                       errors=("400", "401", "403", "404"))},
        "/api/v1/exports/nem12": {
            "get": op("NEM12 file of stored days (market-time days)", exports,
                      params=export_params, ok_desc="text/csv attachment", errors=("400",))},
        "/api/v1/exports/csv": {
            "get": op("CSV file: one row per interval and channel", exports,
                      params=export_params, ok_desc="text/csv attachment", errors=("400",))},
    }


def fleet_config_paths() -> dict:
    """The inventory's config, agent keys and config pushes (tempest/web/api_config.py)."""
    cfg = "config"
    admin_errors = ("400", "401", "403", "404")
    return {
        "/api/v1/meters/{serial}/desired-config": {
            "get": op("The config the inventory gives the meter, and drift", cfg,
                      params=[SERIAL]),
            "put": op("Set the inventory's config (the whole config as deployed)", cfg,
                      params=[SERIAL], security=ADMIN,
                      body="{config, source?, config_hash?, agent_url?}", errors=admin_errors),
            "delete": op("Forget the inventory's config", cfg, params=[SERIAL],
                         security=ADMIN, errors=admin_errors)},
        "/api/v1/desired-configs": {
            "put": op("Set the inventory's config (and agent key and address) of many meters "
                      "in one call", cfg, security=ADMIN,
                      body="{configs: [{serial, config, source?, config_hash?, agent_url?}, "
                           "...]} (at most 500)",
                      ok_desc="one verdict per item, in order: {changed, unchanged, refused, "
                              "items: [{index, serial, verdict, config_hash | error, reason, "
                              "field}]}",
                      errors=("400", "401", "403", "413"))},
        "/api/v1/meters/{serial}/agent-key": {
            "put": op("Keep the meter agent's key (never shown again) and address", cfg,
                      params=[SERIAL], security=ADMIN, body="{key, url?}", errors=admin_errors),
            "delete": op("Forget the meter agent's key", cfg, params=[SERIAL], security=ADMIN,
                         errors=admin_errors)},
        "/api/v1/meters/{serial}/config/push": {
            "post": op("Push a config (default: the inventory's) to the meter's agent at its "
                       "registered address", cfg,
                       params=[SERIAL], security=ADMIN, body="optional {config}",
                       ok_desc="the agent applied it (502: it refused or did not answer)",
                       errors=("400", "401", "403", "404", "409", "502"))},
    }


def concentrator_paths() -> dict:
    """Data concentrators: their batches (tempest/web/concentrator.py) and their registry
    (tempest/web/api_concentrators.py); docs/concentrator.md."""
    tag = "concentrators"
    cid = _p("cid", desc="concentrator id: 1-64 of A-Z a-z 0-9 _ . -")
    admin_errors = ("400", "401", "403", "404")
    batch = ("200", "per-item verdicts, in order: {concentrator, accepted, refused, retry, "
             "items: [{index, verdict, http, ...}]}")
    return {
        "/api/v1/concentrator/heartbeats": {
            "post": op("Heartbeats of many meters behind the concentrator", tag,
                       security=CONCENTRATOR, body="{heartbeats: [{serial, ...}, ...]}",
                       ok=batch[0], ok_desc=batch[1], errors=("400", "401", "413", "503"))},
        "/api/v1/concentrator/days": {
            "post": op("Day files of many meters behind the concentrator", tag,
                       security=CONCENTRATOR,
                       body="{files: [<a day file's text, as a JSON string>, ...]}",
                       ok=batch[0], ok_desc=batch[1],
                       errors=("400", "401", "413", "503", "507"))},
        "/api/v1/concentrators": {
            "get": op("Every concentrator (never its key)", tag, errors=()),
            "post": op("Register a concentrator and issue its key (idempotent)", tag,
                       security=ADMIN, body="{id, key?, rotate?}", ok="201",
                       ok_desc="key issued (200 when unchanged)",
                       errors=("400", "401", "403", "409"))},
        "/api/v1/concentrators/{cid}": {
            "get": op("One concentrator and the serials behind it", tag, params=[cid])},
        "/api/v1/concentrators/{cid}/meters": {
            "post": op("Put meters behind the concentrator (moving them from another one)",
                       tag, params=[cid], security=ADMIN, body="{serials: [...]}",
                       errors=admin_errors)},
        "/api/v1/concentrators/{cid}/meters/{serial}": {
            "delete": op("Take a meter from behind the concentrator", tag,
                         params=[cid, SERIAL], security=ADMIN, errors=admin_errors)},
        "/api/v1/concentrators/{cid}/key": {
            "delete": op("Revoke the concentrator's key", tag, params=[cid], security=ADMIN,
                         errors=admin_errors)},
    }


def document() -> dict:
    return {
        "openapi": "3.1.0",
        "info": {"title": "Tempest", "version": __version__,
                 "description": "The Meters head-end: uploads, heartbeats, the meter registry "
                                "and stored readings. See docs/api.md."},
        "paths": paths(),
        "components": {
            "securitySchemes": {
                "meterKey": {"type": "apiKey", "in": "header", "name": "x-api-key"},
                "concentratorKey": {"type": "apiKey", "in": "header", "name": "x-api-key",
                                    "description": "a concentrator's key: only the "
                                                   "concentrator routes, only its meters"},
                "adminBearer": {"type": "http", "scheme": "bearer"},
                "adminHeader": {"type": "apiKey", "in": "header", "name": "x-admin-token"},
            },
            "responses": {"Error": {"description": "an error",
                                    "content": {"application/json": {"schema": {
                                        "$ref": "#/components/schemas/Error"}}}}},
            "schemas": {"Error": {"type": "object", "required": ["error", "reason"],
                                  "properties": {"error": {"type": "string"},
                                                 "reason": {"type": "string"},
                                                 "field": {"type": "string"},
                                                 "line": {"type": ["integer", "null"]},
                                                 "id": {"type": "string"}}}},
        },
    }
