"""Tempest: the Meters head-end (drop-folder ingest, SQLite store, REST API, meter registry).

`create_app()` is the Flask application factory (flaskr style). Settings come from
`tempest.settings.DEFAULTS`, then `<data-dir>/tempest.toml` (or the file TEMPEST_CONFIG
names), then the secrets in the env file TEMPEST_ENV_FILE names, then `TEMPEST_*` environment
variables, then `overrides` (the command line's flags).
A test passes `test_config` instead of reading the file and the environment. A setting Tempest
cannot run with raises `settings.SettingsError` naming it.
"""

from __future__ import annotations

import logging

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from tempest import db, secretsdir, settings


def create_app(test_config: dict | None = None, overrides: dict | None = None) -> Flask:
    app = Flask(__name__, static_folder=None)
    app.json.sort_keys = False  # keep fields in the documented order
    app.config.from_mapping(settings.DEFAULTS)
    if test_config is None:
        data_dir = (overrides or {}).get("DATA_DIR") or settings.data_dir_from_env()
        path = settings.config_file(str(data_dir))
        if path.is_file():
            app.config.from_mapping(settings.load_toml(path))
        settings.env_file_to_config(app.config)
        app.config.from_prefixed_env("TEMPEST")
        settings.text_from_env(app.config)
    else:
        app.config.from_mapping(test_config)
    if overrides:
        app.config.from_mapping({k: v for k, v in overrides.items() if v is not None})
    settings.check(app.config)
    layout = settings.layout(app.config)
    try:  # the secrets folder (checked before any folder is made): private, an old data
        # dir's secrets moved into it
        secrets_dir = secretsdir.prepare(layout)
    except OSError as exc:
        raise settings.SettingsError("SECRETS_DIR", f"{layout.secrets}: {exc}") from exc
    layout.ensure()
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = secretsdir.session_key(secrets_dir)
    db.init_db(layout.database)
    db.init_app(app, layout.database)
    proxies = int(app.config["TRUSTED_PROXIES"])
    if proxies:
        # Behind a TLS proxy the request's scheme and caller are the proxy's headers: without
        # this the UI's same-origin check sees http:// and its cookie is never Secure.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies)

    from tempest import ui, web
    from tempest.web import api_config, api_desired_batch

    web.init_app(app)
    app.register_blueprint(api_config.bp)  # desired config, agent keys, config pushes
    app.register_blueprint(api_desired_batch.bp)  # many meters' desired configs in one call
    ui.init_app(app)  # the web UI under /ui/
    logging.getLogger("tempest").setLevel(logging.INFO)
    return app
