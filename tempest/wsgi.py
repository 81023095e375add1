"""The WSGI entry point for gunicorn: `gunicorn 'tempest.wsgi:app'`.

Settings come from TEMPEST_DATA_DIR, the config file and TEMPEST_* variables. This serves the
web side only: run exactly one ingest worker beside it (`tempest ingest --watch`).
"""

from tempest import create_app

app = create_app()
