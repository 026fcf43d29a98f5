"""Jinja filters and globals used across templates."""

from __future__ import annotations

from datetime import datetime

from flask import Flask
from markupsafe import Markup

from support import clock, dates
from support.models import EventKind, Status, Ticket
from support.tickets import attachments


def _when(value: datetime | None) -> Markup:
    """A <time> element: readable UTC on the server, the reader's local time in the browser."""
    if value is None:
        return Markup("")
    iso = value.strftime("%Y-%m-%dT%H:%M:%SZ")
    text = dates.when_text(value)
    return Markup('<time datetime="{}" data-local>{}</time>').format(iso, text)


def _day(value: datetime | None) -> Markup:
    """A date without the time, like "3 Mar 2025" (UTC), for when tokens and the like end."""
    if value is None:
        return Markup("")
    iso = value.strftime("%Y-%m-%dT%H:%M:%SZ")
    return Markup('<time datetime="{}">{}</time>').format(iso, f"{value.day} {value:%b %Y}")


def _ago(value: datetime | None) -> str:
    if value is None:
        return ""
    seconds = int((clock.now() - value).total_seconds())
    if seconds < 60:
        return "just now"
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            count = seconds // size
            return f"{count} {unit}{'s' if count != 1 else ''} ago"
    return "just now"


def _waiting_for(ticket: Ticket) -> str:
    """Who holds the next move, in the customer's words."""
    return {
        Status.NEW: "Waiting for our team",
        Status.OPEN: "Waiting for our team",
        Status.ESCALATED: "With our senior team",
        Status.PENDING: "Waiting for your reply",
        Status.ON_HOLD: "Waiting on a third party",
        Status.RESOLVED: "Nothing — tell us if it isn't fixed",
        Status.CLOSED: "Nothing — this request is closed",
    }[ticket.status]


# A status change as the customer's timeline says it: what it means for them, not our
# board's column names ("changed the status to Open").
CUSTOMER_STATUS_WORDS = {
    Status.NEW: "received the request",
    Status.OPEN: "is working on the request",
    Status.PENDING: "is waiting for your reply",
    Status.ON_HOLD: "is waiting on someone outside our team",
    Status.ESCALATED: "asked for more help with the request",
    Status.RESOLVED: "marked the request as resolved",
    Status.CLOSED: "closed the request",
}


def _nl_count(value: int) -> str:
    return f"{value:,}"


def init_app(app: Flask) -> None:
    app.jinja_env.filters.update(
        when=_when,
        day=_day,
        ago=_ago,
        thousands=_nl_count,
        filesize=attachments.human_size,
        when_text=dates.when_text,
    )
    app.jinja_env.globals.update(
        waiting_for=_waiting_for,
        customer_status_words=CUSTOMER_STATUS_WORDS,
        attachment_rules=attachments.rules,
        Status=Status,
        EventKind=EventKind,
        site_name=app.config["SITE_NAME"],
    )
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
