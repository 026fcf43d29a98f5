"""/api/v1/docs: the API reference, rendered on our side from the OpenAPI document.

Swagger UI and Redoc load scripts from a CDN, which our CSP (rightly) refuses, and
they would be one more thing to vendor; one server-rendered page of the same
document reads well, prints, and works without JavaScript.
"""

from __future__ import annotations

from typing import Any

from flask import Response
from markupsafe import Markup, escape

from support.api.blueprint import bp
from support.api.spec import document
from support.web import render

METHODS = ("get", "post", "patch", "put", "delete")


@bp.get("/openapi.json")
def openapi() -> Response:
    from support.api import openapi_json

    return openapi_json()


@bp.get("/docs")
def docs() -> Response:
    spec = document()
    return render(
        "api/docs.html",
        spec=spec,
        sections=_sections(spec),
        schemas=spec.get("components", {}).get("schemas", {}),
    )


def _sections(spec: dict[str, Any]) -> list[tuple[str, list[dict[str, Any]]]]:
    """Operations grouped by their tag, in the order the tags first appear."""
    sections: dict[str, list[dict[str, Any]]] = {}
    for path, item in spec.get("paths", {}).items():
        for method in METHODS:
            if method not in item:
                continue
            operation = item[method]
            tag = (operation.get("tags") or ["Other"])[0]
            sections.setdefault(tag, []).append(
                {
                    "method": method.upper(),
                    "path": path,
                    "summary": operation.get("summary", ""),
                    "description": code_spans(operation.get("description", "")),
                    "parameters": operation.get("parameters", []),
                    "body": _schema_name(operation.get("requestBody", {})),
                    "responses": [
                        (code, answer.get("description", ""), _schema_name(answer))
                        for code, answer in operation.get("responses", {}).items()
                    ],
                    "anchor": _anchor(method, path),
                }
            )
    return list(sections.items())


def code_spans(text: str) -> Markup:
    """The document's `backticks` as <code>, everything else escaped."""
    parts = text.split("`")
    code = Markup("<code>{}</code>")
    return Markup("").join(code.format(p) if i % 2 else escape(p) for i, p in enumerate(parts))


def _anchor(method: str, path: str) -> str:
    """`patch-tickets-ref` for PATCH /api/v1/tickets/{ref}."""
    words = path.removeprefix("/api/v1/").replace("{", "").replace("}", "").split("/")
    return "-".join([method, *words])


def _schema_name(holder: dict[str, Any]) -> str | None:
    for media in holder.get("content", {}).values():
        ref = media.get("schema", {}).get("$ref", "")
        return ref.rsplit("/", 1)[-1] or None
    return None
