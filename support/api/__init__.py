"""The JSON API (/api/v1): a second face of the same services as the pages.

`blueprint` authenticates every request by its bearer token (`tokens`), applies the
token's scope and rate limit, and turns every error into problem details
(`problems`). `tickets`, `people` and `kb` hold the routes; `schemas` their bodies,
from which `spec` builds the OpenAPI document; `present` turns models into bodies.
Nothing here writes a ticket except through support.tickets.service.
"""

from __future__ import annotations

from flask import Flask, Response, jsonify

from support.extensions import csrf


def init_app(app: Flask) -> None:
    from support.api import docs, kb, people, tickets  # noqa: F401  (routes on bp)
    from support.api.blueprint import bp
    from support.api.spec import spec

    app.config.setdefault("API_MAX_BODY_BYTES", 1024 * 1024)
    csrf.exempt(bp)  # bearer tokens only, never the session cookie: nothing to forge
    app.register_blueprint(bp)
    spec.register(app)  # spectree reads the app's routes; its JSON route serves ours
    app.view_functions[f"openapi_{spec.config.path}"] = openapi_json


def openapi_json() -> Response:
    from support.api.spec import document

    response = jsonify(document())
    response.headers["Cache-Control"] = "public, max-age=300"
    return response
