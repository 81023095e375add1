-- Tempest's store (SQLite, WAL). `tempest init-db` applies this file; every statement is
-- idempotent so it can run on every start. Times are unix seconds (REAL) unless named *_day.

-- The meter registry: one row per serial, from `tempest meters add`, heartbeats or day files.
CREATE TABLE IF NOT EXISTS meters (
    serial          TEXT PRIMARY KEY,
    key_hash        TEXT,             -- sha256 hex of the meter's API key; NULL: no key
    key_issued_at   REAL,
    key_revoked_at  REAL,
    timezone        TEXT,             -- IANA zone for seed files whose times carry no offset
    created_at      REAL NOT NULL,
    first_seen      REAL,             -- first heartbeat
    last_seen       REAL,             -- last heartbeat (drives online/stale/offline)
    address         TEXT,
    agent_url       TEXT,
    version         TEXT,
    config_hash     TEXT,
    backlog         INTEGER,
    last_tick       TEXT,
    free_disk_bytes INTEGER,
    kind            TEXT,
    clock_skew_s    REAL,             -- server time minus meter time at the last heartbeat
    diagnostics     TEXT,             -- JSON: Pico W uptime, reset cause, free memory, last error
    heartbeats      INTEGER NOT NULL DEFAULT 0,
    -- Counters kept by the ingest transaction so fleet pages never count big tables.
    days_stored     INTEGER NOT NULL DEFAULT 0,
    files_archived  INTEGER NOT NULL DEFAULT 0,
    last_day        TEXT,
    last_file_at    REAL,
    -- How its data reaches Tempest (tempest/routes.py), from what happened, not from its config.
    -- A store made before these columns gains them at start (tempest/db/__init__.py).
    route           TEXT,             -- the last day's: upload|rsync|collect|dlms|mqtt|concentrator
    heartbeat_route TEXT,             -- the last heartbeat's: http | mqtt | concentrator
    last_gasp_at    REAL              -- the last MQTT Last Will Tempest received (a last gasp)
);
CREATE UNIQUE INDEX IF NOT EXISTS meters_key_hash ON meters (key_hash) WHERE key_hash IS NOT NULL;
CREATE INDEX IF NOT EXISTS meters_last_seen ON meters (last_seen);

-- Heartbeat history (the registry row above holds the latest); pruned by the ingest worker.
CREATE TABLE IF NOT EXISTS heartbeats (
    id          INTEGER PRIMARY KEY,
    serial      TEXT NOT NULL,
    received_at REAL NOT NULL,
    meter_time  TEXT,
    skew_s      REAL,
    address     TEXT,
    body        TEXT NOT NULL         -- the heartbeat as received (JSON)
);
CREATE INDEX IF NOT EXISTS heartbeats_serial ON heartbeats (serial, received_at);
CREATE INDEX IF NOT EXISTS heartbeats_received ON heartbeats (received_at);

-- Every delivery of a day file, good or bad: one row per ingest id.
CREATE TABLE IF NOT EXISTS files (
    id           TEXT PRIMARY KEY,    -- the ingest id (upload id, or derived from name + hash)
    hash         TEXT NOT NULL,       -- sha256 of the bytes
    serial       TEXT,
    reading_day  TEXT,
    day_status   TEXT,                -- open | sealed (the file's own status)
    accounted    INTEGER,
    expected     INTEGER,
    shape        TEXT,                -- current | seed | flat
    source       TEXT NOT NULL,       -- upload | drop | rsync | reingest
    name         TEXT NOT NULL,       -- the name it had in the drop folder
    size         INTEGER NOT NULL,
    delivered_at REAL NOT NULL,       -- when it reached the drop folder (its mtime)
    ingested_at  REAL NOT NULL,
    outcome      TEXT NOT NULL,       -- stored | replaced | unchanged | kept | quarantined
    reason       TEXT,
    path         TEXT,                -- where it went, relative to the data dir
    notes        TEXT                 -- JSON list: what the parser normalised
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS files_hash ON files (hash);
CREATE INDEX IF NOT EXISTS files_day ON files (serial, reading_day);
CREATE INDEX IF NOT EXISTS files_recent ON files (serial, ingested_at);

-- The stored (most complete) version of each meter-day.
CREATE TABLE IF NOT EXISTS days (
    serial       TEXT NOT NULL,
    reading_day  TEXT NOT NULL,
    file_id      TEXT NOT NULL,
    hash         TEXT NOT NULL,
    status       TEXT NOT NULL,       -- open | sealed
    interval     INTEGER NOT NULL,    -- minutes
    timezone     TEXT NOT NULL,       -- IANA name, or UTC+hh:mm for seed files
    first_end    INTEGER NOT NULL,    -- UTC minute at which the first interval ends
    expected     INTEGER NOT NULL,    -- intervals in the day (23/24/25 h, DST-aware)
    accounted    INTEGER NOT NULL,    -- intervals recorded or marked missing
    recorded     INTEGER NOT NULL,    -- intervals with a reading (actual or estimated)
    estimated    INTEGER NOT NULL,
    quality      BLOB NOT NULL,       -- one byte per interval: A, E, M, or - (not reached)
    channels     TEXT NOT NULL,       -- JSON {name: {role, unit}} in file order
    totals       TEXT NOT NULL,       -- JSON {name: Wh}
    opening      TEXT,                -- JSON {name: Wh} or null
    closing      TEXT,                -- JSON {name: Wh} or null
    shape        TEXT NOT NULL,
    meter_version TEXT,
    data_model_version TEXT,
    delivered_at REAL NOT NULL,
    stored_at    REAL NOT NULL,
    versions     INTEGER NOT NULL DEFAULT 1,  -- how many versions have been stored
    PRIMARY KEY (serial, reading_day)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS days_by_day ON days (reading_day);
CREATE INDEX IF NOT EXISTS days_hash ON days (hash);  -- a redelivery is known without parsing

-- Readings: one compact row per meter, day and channel. `wh` is little-endian int32 Wh per
-- interval on the day's grid, -1 where there is no reading.
CREATE TABLE IF NOT EXISTS readings (
    serial      TEXT NOT NULL,
    reading_day TEXT NOT NULL,
    channel     TEXT NOT NULL,
    wh          BLOB NOT NULL,
    PRIMARY KEY (serial, reading_day, channel)
) WITHOUT ROWID;

-- A sensor meter's measurement channels (docs/day-file.md, "Measurements"): temperature and
-- humidity, each with its unit. Never energy, so never in `readings`, and nothing that sums
-- kWh (totals, exports, resampled ranges) reads them. `vals` is JSON: one integer per interval
-- on the day's grid, in units of 10^-decimals of `unit`, null where there is no reading.
-- Created on first start by a Tempest that has it: an older database simply gains it, empty.
CREATE TABLE IF NOT EXISTS measurements (
    serial      TEXT NOT NULL,
    reading_day TEXT NOT NULL,
    channel     TEXT NOT NULL,
    position    INTEGER NOT NULL,  -- the channel's place in the day file
    unit        TEXT NOT NULL,
    decimals    INTEGER NOT NULL,
    sensor      TEXT,
    vals        TEXT NOT NULL,
    PRIMARY KEY (serial, reading_day, channel)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS ingest_log (
    id          INTEGER PRIMARY KEY,
    at          REAL NOT NULL,
    file_id     TEXT,
    serial      TEXT,
    reading_day TEXT,
    event       TEXT NOT NULL,        -- stored | replaced | unchanged | kept | quarantined | ...
    message     TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS ingest_log_serial ON ingest_log (serial, id);

CREATE TABLE IF NOT EXISTS quarantine (
    id          TEXT PRIMARY KEY,     -- the file's ingest id
    name        TEXT NOT NULL,        -- file name inside quarantine/
    original_name TEXT NOT NULL,
    serial      TEXT,                 -- when the file names one (not trusted for paths)
    source      TEXT NOT NULL,
    reason      TEXT NOT NULL,
    field       TEXT,
    line        INTEGER,
    hash        TEXT NOT NULL,
    size        INTEGER NOT NULL,
    received_at REAL NOT NULL,
    resolved_at REAL,
    resolution  TEXT                  -- reingested as <id> | discarded
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS quarantine_open ON quarantine (received_at) WHERE resolved_at IS NULL;
-- A meter's quarantined bytes, summed against TEMPEST_METER_QUARANTINE_BYTES (tempest/quotas).
CREATE INDEX IF NOT EXISTS quarantine_serial ON quarantine (serial) WHERE resolved_at IS NULL;

-- Per-meter allowances (tempest/quotas, docs/operations.md#quotas): the upload token buckets,
-- and the bad files dropped once the meter's quarantine was full. A meter with no row has full
-- buckets and nothing dropped.
CREATE TABLE IF NOT EXISTS meter_quota (
    serial         TEXT PRIMARY KEY,  -- '' for dropped files that name no meter
    uploads        REAL,              -- upload tokens left at refilled_at (NULL: full)
    upload_bytes   REAL,              -- byte tokens left at refilled_at
    refilled_at    REAL,
    dropped_files  INTEGER NOT NULL DEFAULT 0,
    dropped_bytes  INTEGER NOT NULL DEFAULT 0,
    dropped_at     REAL,
    dropped_reason TEXT,
    logged_at      REAL               -- the last ingest-log line about dropped files
) WITHOUT ROWID;

-- An upload's parse, left by the upload route for the ingest worker so a file is validated
-- once (tempest/ingest/verdict.py): written in the upload's transaction, deleted in the one that
-- records its file.
CREATE TABLE IF NOT EXISTS verdicts (
    id          TEXT PRIMARY KEY,  -- the upload's ingest id
    verdict     BLOB NOT NULL,     -- marshal data: format, the file's sha256, the parsed day
    written_at  REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS verdicts_written ON verdicts (written_at);

-- Small facts the ingest worker publishes (e.g. its last scan) for `status` and the API.
CREATE TABLE IF NOT EXISTS state (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;

-- Signed-in web UI admins (tempest/ui/session.py; the rows: tempest/ui_sessions.py): one row
-- per sign-in, deleted at sign-out, so a session cookie saved before /ui/logout opens nothing
-- after it. The cookie holds the session's id; only its sha256 is kept here.
CREATE TABLE IF NOT EXISTS ui_sessions (
    sid_hash   TEXT PRIMARY KEY,
    created_at REAL NOT NULL
) WITHOUT ROWID;

-- Sinks (docs/sinks.md): every stored or replaced day is queued for each enabled sink in the
-- storing transaction (tempest/hooks.py), and a worker per sink delivers the queue in order.
-- `sinks` is the registry the hook reads: the sink service writes it from the settings at start.
CREATE TABLE IF NOT EXISTS sinks (
    name            TEXT PRIMARY KEY,  -- influxdb | mdms
    kind            TEXT NOT NULL,
    target          TEXT,              -- where it delivers (a URL, never a secret)
    enabled         INTEGER NOT NULL,  -- 1 while configured: only enabled sinks get new days
    registered_at   REAL NOT NULL,
    updated_at      REAL NOT NULL,
    delivered       INTEGER NOT NULL DEFAULT 0,  -- days acknowledged by the sink
    skipped         INTEGER NOT NULL DEFAULT 0,  -- items whose version it already had
    failures        INTEGER NOT NULL DEFAULT 0,  -- failed attempts, all kinds
    last_success_at REAL,
    last_error      TEXT,
    last_error_at   REAL
) WITHOUT ROWID;

-- What waits for each sink: at most one item per sink and meter-day (a newer version replaces
-- a waiting one). Delivered in id order; a dead item keeps its id, so a retry puts it back in
-- its place.
CREATE TABLE IF NOT EXISTS sink_queue (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    sink            TEXT NOT NULL,
    serial          TEXT NOT NULL,
    reading_day     TEXT NOT NULL,
    cause           TEXT NOT NULL,     -- stored | replaced | replay
    state           TEXT NOT NULL DEFAULT 'queued',  -- queued | dead
    attempts        INTEGER NOT NULL DEFAULT 0,      -- failed attempts that count towards dead
    next_at         REAL NOT NULL DEFAULT 0,         -- not before this (backoff)
    enqueued_at     REAL NOT NULL,
    last_attempt_at REAL,
    last_error      TEXT,
    dead_at         REAL
);
CREATE UNIQUE INDEX IF NOT EXISTS sink_queue_day ON sink_queue (sink, serial, reading_day);
CREATE INDEX IF NOT EXISTS sink_queue_order ON sink_queue (sink, state, id);

-- What each sink has acknowledged: the stored version (days.hash) of each meter-day, so an
-- item whose version the sink already has is not sent again (unless it is a replay).
CREATE TABLE IF NOT EXISTS sink_delivered (
    sink            TEXT NOT NULL,
    serial          TEXT NOT NULL,
    reading_day     TEXT NOT NULL,
    day_hash        TEXT NOT NULL,
    payload_hash    TEXT,              -- sha256 of what was sent (the MDMS idempotency key's)
    delivered_at    REAL NOT NULL,
    deliveries      INTEGER NOT NULL DEFAULT 1,
    PRIMARY KEY (sink, serial, reading_day)
) WITHOUT ROWID;

-- Data concentrators (docs/concentrator.md): a client that speaks for many meters at once with
-- a key of its own (hashed as meter keys are). It may deliver only for the meters registered
-- behind it: one row per meter in concentrator_meters, so a meter is behind one concentrator
-- at most, and moving it is one UPDATE (its old concentrator is refused at once).
CREATE TABLE IF NOT EXISTS concentrators (
    id             TEXT PRIMARY KEY,
    key_hash       TEXT,              -- sha256 hex of its key; NULL: revoked
    key_issued_at  REAL,
    created_at     REAL NOT NULL,
    last_seen      REAL               -- its last batch, of either kind
) WITHOUT ROWID;
CREATE UNIQUE INDEX IF NOT EXISTS concentrators_key_hash ON concentrators (key_hash)
    WHERE key_hash IS NOT NULL;
CREATE TABLE IF NOT EXISTS concentrator_meters (
    serial        TEXT PRIMARY KEY REFERENCES meters (serial),
    concentrator  TEXT NOT NULL REFERENCES concentrators (id),
    assigned_at   REAL NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS concentrator_meters_by ON concentrator_meters (concentrator, serial);

-- DLMS/COSEM endpoints (docs/dlms.md, "Tempest collects over DLMS"): the meters Tempest reads
-- as a head-end, from `tempest meters dlms`. The LLS password is a secret and lives in the
-- secrets folder (tempest/dlms/endpoints.py), never here. The skew is the last one read.
CREATE TABLE IF NOT EXISTS dlms_meters (
    serial        TEXT PRIMARY KEY REFERENCES meters (serial),
    host          TEXT NOT NULL,
    port          INTEGER NOT NULL,
    registered_at REAL NOT NULL,
    clock_skew_s  REAL,               -- Tempest's time minus the meter's clock at the last read
    skew_at       REAL,               -- when that clock was read
    collected_at  REAL,               -- the last collection that read the meter
    last_error    TEXT                -- the last collection's error; NULL after a success
) WITHOUT ROWID;

-- Events a meter logged (the DLMS standard event log), one row per meter, time and code, so
-- reading a log again stores nothing twice. `at` is the meter's own clock (unix seconds).
CREATE TABLE IF NOT EXISTS meter_events (
    serial      TEXT NOT NULL,
    at          REAL NOT NULL,
    code        INTEGER NOT NULL,     -- the DLMS standard event code
    event       TEXT NOT NULL,        -- power_down | power_up | clock_adjusted_old | ..._new
    source      TEXT NOT NULL,        -- dlms
    read_at     REAL NOT NULL,
    PRIMARY KEY (serial, at, code)
) WITHOUT ROWID;
