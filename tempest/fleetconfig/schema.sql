-- The fleet's config as Tempest knows it (applied at start, idempotent, like tempest/schema.sql).

-- The config the inventory (Ansible) gives each meter, for drift checks and the UI's Config
-- page. `config` is stored without secrets; `config_hash` is the hash of the whole config as
-- deployed (meter.config.config_hash), compared with the hash the meter's heartbeats report.
CREATE TABLE IF NOT EXISTS desired_config (
    serial      TEXT PRIMARY KEY,
    config      TEXT NOT NULL,        -- JSON, secrets removed
    config_hash TEXT NOT NULL,
    source      TEXT,                 -- who set it (e.g. "ansible"), free text
    set_at      REAL NOT NULL
) WITHOUT ROWID;

-- Config pushes to meter agents (POST /config), oldest first: what was sent and the answer.
CREATE TABLE IF NOT EXISTS config_pushes (
    id          INTEGER PRIMARY KEY,
    serial      TEXT NOT NULL,
    at          REAL NOT NULL,
    agent_url   TEXT,
    config_hash TEXT,                 -- the hash the agent reported after applying it
    status      INTEGER,              -- the agent's HTTP status; NULL: it did not answer
    result      TEXT NOT NULL         -- JSON: the agent's answer, or why it failed
);
CREATE INDEX IF NOT EXISTS config_pushes_serial ON config_pushes (serial, id);

-- Where Tempest calls each meter's agent (fleetconfig/agentaddr.py): registered by the deploy
-- with the admin token, never taken from a heartbeat (which could point it anywhere).
CREATE TABLE IF NOT EXISTS agent_addresses (
    serial      TEXT PRIMARY KEY,
    url         TEXT NOT NULL,        -- http(s)://host:port/
    source      TEXT,                 -- who registered it (e.g. "ansible"), free text
    set_at      REAL NOT NULL
) WITHOUT ROWID;
