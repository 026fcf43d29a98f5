"""Errors as RFC 9457 problem details: `application/problem+json`, one shape for all.

    {"type": "about:blank", "title": "Not Found", "status": 404,
     "detail": "No ticket SUP-ABC123 that this token may see.",
     "errors": [{"field": "subject", "message": "..."}]}   # 422 only

Views raise `Problem`; every other error under /api/ (404 for an unknown path, 405,
413, 429, 500) is turned into the same shape by `for_exception`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from http import HTTPStatus
from typing import Any

from flask import Response, current_app, json, request
from pydantic import ValidationError

MEDIA_TYPE = "application/problem+json"
PREFIX = "/api/"


class Problem(Exception):
    """An API error with a status and a message written for the integrator."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        errors: Iterable[Mapping[str, Any]] = (),
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.errors = list(errors)
        self.headers = dict(headers or {})


def is_api_request() -> bool:
    return request.path.startswith(PREFIX)


def response(problem: Problem) -> Response:
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": HTTPStatus(problem.status).phrase,
        "status": problem.status,
        "detail": problem.detail,
    }
    if problem.errors:
        body["errors"] = problem.errors
    result = current_app.response_class(
        json.dumps(body), status=problem.status, mimetype=MEDIA_TYPE
    )
    result.headers.update(problem.headers)
    result.headers["Cache-Control"] = "no-store"
    return result


# What an integrator should do, per status, when the error itself says no more.
ADVICE = {
    400: "The request could not be read: check the JSON body and the headers.",
    401: "Send a personal API token as 'Authorization: Bearer sd_…'.",
    403: "This token may not do that.",
    404: "Nothing here: check the path (see /api/v1/openapi.json).",
    405: "This path does not take that method (see /api/v1/openapi.json).",
    413: "The request body is too large.",
    415: "Send the body as JSON with 'Content-Type: application/json'.",
    429: "Too many requests for this token: wait and try again (see Retry-After).",
    500: "Something went wrong on our side; nothing was half-saved. Try again shortly.",
}


def for_status(status: int, detail: str | None = None, **kwargs: Any) -> Response:
    advice = detail or ADVICE.get(status, HTTPStatus(status).phrase)
    return response(Problem(status, advice, **kwargs))


def validation_errors(errors: Iterable[Mapping[str, Any]]) -> list[dict[str, str]]:
    """pydantic's errors as [{"field": "a.b", "message": "..."}]."""
    found = []
    for error in errors:
        location = [str(part) for part in error.get("loc", ()) if part != "__root__"]
        found.append({"field": ".".join(location) or "body", "message": str(error.get("msg"))})
    return found


def refuse_invalid(request: Any, response: Any, error: Any, instance: Any, adapter: Any) -> None:
    """spectree's hook once it has validated a request: invalid is a 422 with the fields."""
    if error is not None:
        details = error.errors() if isinstance(error, ValidationError) else []
        raise Problem(
            422, "Some fields are missing or not valid.", errors=validation_errors(details)
        )
