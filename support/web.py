"""Rendering helpers shared by every blueprint: htmx fragments, redirects, error pages."""

from __future__ import annotations

import logging
from typing import Any

from flask import (
    Flask,
    Response,
    current_app,
    make_response,
    redirect,
    render_template,
    request,
    send_file,
)
from flask_wtf.csrf import CSRFError
from jinja2_fragments.flask import render_block
from werkzeug.exceptions import HTTPException

from support.api import problems
from support.extensions import db
from support.models import Attachment
from support.tickets import attachments
from support.tickets.attachments import human_size
from support.tickets.service import StaleTicket, TicketError

log = logging.getLogger(__name__)


def sent_by_htmx() -> bool:
    """Any request htmx made, boosted or history restore included. Not "send a fragment?"
    (that is wants_fragment): for answers only script can act on, an HX-Redirect instead of
    a 303, or an error as a toast instead of an error page."""
    return bool(request.htmx)


def wants_fragment() -> bool:
    """An htmx request that swaps part of a page; a boosted or history-restore request
    replaces the whole page, so it gets the whole page. The one test for "just the block"."""
    return (
        bool(request.htmx)
        and not request.htmx.boosted
        and not (request.htmx.history_restore_request)
    )


def render(
    template: str,
    *,
    block: str | None = None,
    status: int = 200,
    headers: dict[str, str] | None = None,
    **context: Any,
) -> Response:
    """The whole page for a normal request, just `block` of it for an htmx request."""
    if block and wants_fragment():
        body = render_block(template, block, **context)
    else:
        body = render_template(template, **context)
    response = make_response(body, status)
    response.headers.update(headers or {})
    response.vary.add("HX-Request")
    return response


def render_fragment(template: str, block: str, **context: Any) -> Response:
    """A block that only exists as a fragment (polling, 'show earlier')."""
    response = make_response(render_block(template, block, **context))
    response.vary.add("HX-Request")
    return response


def redirect_after_post(url: str) -> Response:
    """303 for plain forms; htmx follows HX-Redirect with a full page load."""
    if sent_by_htmx():
        response = make_response("", 204)
        response.headers["HX-Redirect"] = url
        return response
    return redirect(url, code=303)


def updated(response: Response, *events: str) -> Response:
    """Tell other regions of the page to refresh themselves (HX-Trigger)."""
    response.headers["HX-Trigger"] = ", ".join(events)
    return response


def send_attachment(attachment: Attachment) -> Response:
    """A stored file as a download, never rendered by the browser whatever it claims to be."""
    response = send_file(
        attachments.path_of(attachment.storage_key),
        mimetype=attachment.content_type,
        as_attachment=True,
        download_name=attachment.filename,
        max_age=0,
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response.headers["Cache-Control"] = "private, no-store"
    return response


ERROR_TEXT = {
    400: ("Something in that request was wrong", "Go back, check the form and try again."),
    403: (
        "This page is not for your account",
        "If you think you should have access, ask an admin.",
    ),
    404: (
        "We couldn't find that page",
        "Check the address, or find your request under “My tickets”.",
    ),
    405: ("That action isn't available here", "Go back and use the buttons on the page."),
    413: ("That upload is too large", ""),  # the limits come from the config: see _too_large
    429: ("Too many requests", "Please wait a minute and try again."),
    500: (
        "Something went wrong on our side",
        "Nothing you sent was half-saved. Please try again in a moment.",
    ),
}


def _error_response(code: int, title: str, advice: str, **extra: Any) -> Response:
    if problems.is_api_request():  # /api/: problem details, whatever the error
        return problems.for_status(code)
    if sent_by_htmx():
        # A short message for the page's toast; see static/js/app.js.
        body = render_template("errors/_toast.html", title=title, advice=advice)
    else:
        body = render_template("errors/error.html", code=code, title=title, advice=advice, **extra)
    return make_response(body, code)


def _preserved_fields() -> list[tuple[str, str]]:
    """What the user typed into a rejected form, so nothing they wrote is lost."""
    skip = {"csrf_token", "password", "confirm", "client_token"}
    return [
        (name, value)
        for name, value in request.form.items(multi=True)
        if name not in skip and value.strip()
    ]


def _too_large() -> str:
    config = current_app.config
    return (
        f"Each file can be at most {human_size(config['ATTACHMENT_MAX_BYTES'])} and a message "
        f"at most {human_size(config['MAX_CONTENT_LENGTH'])} in all. "
        "Go back: your text is still in the form."
    )


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError) -> Response:
        return _error_response(
            400,
            "This form has expired",
            "For your security, forms stop working when you sign in or out, or your session ends. "
            "Reload the page and send it again.",
            preserved=_preserved_fields(),
        )

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Response:
        code = error.code or 500
        title, advice = ERROR_TEXT.get(code, (error.name, error.description or ""))
        return _error_response(code, title, _too_large() if code == 413 else advice)

    @app.errorhandler(TicketError)
    def refused_change(error: TicketError) -> Response:
        # A refusal the view did not turn into a form error; its message is for the user.
        db.session.rollback()
        if isinstance(error, StaleTicket):
            return _error_response(409, "Someone changed this request first", str(error))
        return _error_response(422, "That change can't be made", str(error))

    @app.errorhandler(Exception)
    def unexpected_error(error: Exception) -> Response:
        log.exception("Unhandled error on %s %s", request.method, request.path)
        # A failed flush leaves the session unusable, and the page below reads from it.
        db.session.rollback()
        title, advice = ERROR_TEXT[500]
        return _error_response(500, title, advice)
