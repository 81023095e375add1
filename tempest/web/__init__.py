"""Tempest's HTTP side: one small blueprint per concern, registered here."""

from __future__ import annotations

from flask import Blueprint, Flask, Response, jsonify, request

from tempest.web import (
    api_admin,
    api_concentrators,
    api_exports,
    api_ingest,
    api_meters,
    api_quota,
    api_sinks,
    concentrator,
    errors,
    fastpath,
    heartbeats,
    openapi_spec,
    seed,
    seed_archives,
    uploads,
)

openapi = Blueprint("openapi", __name__)


@openapi.get("/api/v1/openapi.json")
def openapi_json():
    return jsonify(openapi_spec.document())


def _cors(response: Response) -> Response:
    """The seed answered every route with CORS open (its UI was a static page elsewhere).
    Reads are public and writes need a key in a header, so `*` exposes nothing more."""
    response.headers["Access-Control-Allow-Origin"] = "*"
    if request.method == "OPTIONS":
        response.headers["Access-Control-Allow-Methods"] = "GET, POST, PATCH, DELETE, OPTIONS"
        response.headers["Access-Control-Allow-Headers"] = (
            "Content-Type, x-api-key, x-admin-token, Authorization")
        response.headers["Access-Control-Max-Age"] = "600"
    return response


def init_app(app: Flask) -> None:
    errors.init_app(app)
    app.after_request(_cors)
    for bp in (seed.bp, seed_archives.bp, uploads.bp, heartbeats.bp, api_meters.bp,
               api_quota.bp, api_admin.bp, api_ingest.bp, api_sinks.bp, api_exports.bp,
               api_concentrators.bp, concentrator.bp, openapi):
        app.register_blueprint(bp)
    # Plain valid heartbeats skip Flask's request machinery (the bulk of the per-meter load).
    app.wsgi_app = fastpath.wrap(app, app.wsgi_app)
