"""Security on every request: a CSP that allows only our own scripts and styles, the other
security headers, and no NUL characters in what reaches the database."""

from __future__ import annotations

from itertools import chain

from flask import Flask, Response, abort, current_app, request

# Everything the pages load comes from /static: no inline scripts, styles or handlers
# (htmx's own indicator <style> is switched off in base.html's htmx-config).
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
)
HSTS = "max-age=31536000; includeSubDomains"
NUL_REFUSED = "The request contains a NUL character, which no field takes."
# Only these are parsed here: reading any other body now would fix its size limit
# before a blueprint could set its own (the API's is 1 MB).
FORM_TYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})


def add_security_headers(response: Response) -> Response:
    headers = response.headers
    # A view may set a stricter policy of its own (attachment downloads do): keep it.
    headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("X-Frame-Options", "DENY")
    if current_app.config.get("SUPPORT_ENV") == "production":
        headers.setdefault("Strict-Transport-Security", HSTS)
    return response


def refuse_nul_characters() -> None:
    """A NUL character is never text anyone meant to send, and PostgreSQL can't store or
    compare one: a clear 400 for any in the query string or form fields, before a view
    passes it to the database. (The API checks its JSON bodies itself, once it has
    applied its smaller size limit: support/api/blueprint.py.)"""
    form = request.form.listvalues() if request.mimetype in FORM_TYPES else ()
    values = chain(request.args.listvalues(), form)
    if any("\x00" in value for values_of_one in values for value in values_of_one):
        abort(400, description=NUL_REFUSED)


def init_app(app: Flask) -> None:
    app.before_request(refuse_nul_characters)
    app.after_request(add_security_headers)
