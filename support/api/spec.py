"""The OpenAPI document, built by spectree from the views' pydantic models.

spectree was picked over APIFlask and flask-smorest because it leaves the htmx app
alone: APIFlask replaces the Flask class, and flask-smorest's `Api` installs its own
app-wide error handlers (our pages answer HTML errors). spectree only wraps the views
it decorates, validates with pydantic (already how we think of bodies) and writes
OpenAPI 3.1.

Two things spectree does not know are added here: our errors are
`application/problem+json` (RFC 9457), and every operation can answer 401, 404,
413, 429 and 500 in that shape.
"""

from __future__ import annotations

import copy
from typing import Any

from pydantic import BaseModel
from spectree import Response, SecurityScheme, SpecTree
from spectree.models import SecuritySchemeData

from support.api import problems
from support.api.schemas import ProblemOut


class LazySpecTree(SpecTree):
    """spectree works out each model's JSON schema as it decorates a view: ~0.4 s of CPU
    in every process that builds the app (each web worker, `flask worker`, any `flask`
    command), for a document most processes never serve. Here the models are only
    noted, and their schemas made when the document is first built (`spec.spec`).
    Validation does not read these schemas: it is pydantic's, on the model classes.
    `_add_model` is spectree 3.x's own step for this (pinned to 3.x in pyproject)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._noted: list[tuple[Any, Any]] = []
        super().__init__(*args, **kwargs)

    def _add_model(self, model: Any, mode: Any = "validation") -> str:
        self._noted.append((model, mode))
        return self.naming_strategy(model)

    def _generate_spec(self) -> dict[str, Any]:
        noted, self._noted = self._noted, []
        for model, mode in noted:  # in the order views noted them, as spectree would
            super()._add_model(model, mode)
        return super()._generate_spec()


spec = LazySpecTree(
    "flask",
    title="Support Desk API",
    version="1.0.0",
    description=(
        "Tickets, customers and the knowledge base of a Support Desk. Authenticate with a "
        "personal API token (Authorization: Bearer sd_…), created at /account/tokens."
    ),
    # spectree leaves routes under its own path out of the document: not /api/v1 then.
    # Its route there serves the same document (support/api/__init__.py).
    path="api/v1/spec",
    filename="openapi.json",
    page_templates={},  # our own docs page (/api/v1/docs): the CSP allows no CDN scripts
    annotations=True,
    mode="strict",
    validation_error_status=422,
    validation_error_model=ProblemOut,
    before=problems.refuse_invalid,
    security_schemes=[
        SecurityScheme(
            name="bearerAuth",
            data=SecuritySchemeData(type="http", scheme="bearer", description="sd_… token"),
        )
    ],
    security={"bearerAuth": []},
    naming_strategy=lambda model: model.__name__,
)

COMMON_ERRORS = (400, 401, 404, 413, 429)  # 400: unreadable JSON, a NUL character


def responses(ok: int, model: type[BaseModel] | None, *errors: int) -> Response:
    """`ok` with `model` (None: no body), and problem details for the given errors."""
    codes: dict[str, Any] = {f"HTTP_{ok}": model}
    for code in sorted({*COMMON_ERRORS, *errors}):
        codes[f"HTTP_{code}"] = ProblemOut
    return Response(**codes)


IF_MATCH = {
    "name": "If-Match",
    "in": "header",
    "required": False,
    "schema": {"type": "string"},
    "description": "The ETag (version) you read; 412 if the ticket has changed since.",
}
IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "schema": {"type": "string", "maxLength": 255},
    "description": "Your unique key for this request: a retry with it does the work once.",
}
# Operations that read the headers above (by operationId's method and path).
HEADERS = {
    ("post", "/api/v1/tickets"): [IDEMPOTENCY_KEY],
    ("post", "/api/v1/tickets/{ref}/replies"): [IF_MATCH, IDEMPOTENCY_KEY],
    ("post", "/api/v1/tickets/{ref}/notes"): [IF_MATCH, IDEMPOTENCY_KEY],
    ("patch", "/api/v1/tickets/{ref}"): [IF_MATCH],
}


def document() -> dict[str, Any]:
    """The OpenAPI document as served: spectree's, with errors as problem+json and the
    headers spectree has no model for."""
    generated = copy.deepcopy(spec.spec)
    for path, item in generated.get("paths", {}).items():
        for method, operation in item.items():
            operation.setdefault("parameters", []).extend(HEADERS.get((method, path), []))
            for code, answer in operation.get("responses", {}).items():
                content = answer.get("content", {})
                if code.isdigit() and int(code) >= 400 and "application/json" in content:
                    content[problems.MEDIA_TYPE] = content.pop("application/json")
    return generated
