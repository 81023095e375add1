"""The meter agent: a small Flask app, one per meter, always on (docs/agent-api.md).

    create_app({"CONFIG_PATH": "/home/pi/meter/config.json"})

Settings: CONFIG_PATH (the meter's config.json; required), DATA_DIR (its folder; default
beside the config), AT (a fixed clock, for demos and tests). Without a test config they come
from METER_AGENT_* environment variables (METER_AGENT_CONFIG_PATH, ...), or the CLI's
METER_CONFIG / METER_DATA_DIR, so `gunicorn 'meter.agent:create_app()'` needs no code.
"""

from __future__ import annotations

import os

from flask import Flask

MAX_BODY = 256 * 1024  # a config is a few KiB; nothing else the agent takes has a body


def create_app(test_config: dict | None = None) -> Flask:
    app = Flask(__name__)
    app.config.from_mapping(
        CONFIG_PATH=os.environ.get("METER_CONFIG", "config.json"),
        DATA_DIR=os.environ.get("METER_DATA_DIR") or None,
        AT=None,
        MAX_CONTENT_LENGTH=MAX_BODY,
        JSON_SORT_KEYS=False,
    )
    if test_config is None:
        app.config.from_prefixed_env("METER_AGENT")
    else:
        app.config.update(test_config)
    app.json.sort_keys = False

    from meter.agent import actions, config_api, errors, status

    errors.register(app)
    app.register_blueprint(status.bp)
    app.register_blueprint(config_api.bp)
    app.register_blueprint(actions.bp)
    return app
