"""Absolute links to our own pages, for emails.

An email is read far from the request that caused it (often written by an RQ job,
with no request at all), so its links start from BASE_URL, the address customers
reach us at, never from the current request's host. The path comes from the URL
map, so a renamed route cannot leave a stale link behind in an email.
"""

from __future__ import annotations

from typing import Any

from flask import current_app


def external_url(endpoint: str, **values: Any) -> str:
    """BASE_URL (with any path prefix it has) plus the path of `endpoint` built with
    `values`; values the route does not take become the query string.

    Needs an app context only: it works the same inside a request and in a job.
    """
    # Bound to a placeholder host and the root script name, `build` returns the path
    # alone ("/tickets/SUP-1"): BASE_URL supplies scheme, host and prefix.
    adapter = current_app.url_map.bind("localhost", script_name="/")
    path = adapter.build(endpoint, values)
    return current_app.config["BASE_URL"].rstrip("/") + path
