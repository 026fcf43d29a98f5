"""Jinja filters and globals used across templates."""

from __future__ import annotations

from datetime import datetime

from flask import Flask, has_request_context
from flask_login import current_user
from jinja2 import pass_context
from jinja2.runtime import Context
from markupsafe import Markup

from support import clock, timezones
from support.models import EventKind, Status, Ticket
from support.tickets import attachments


def _reader_zone(context: Context) -> str:
    """Whose time zone a template shows times in: the `reader` it was given (an email's
    recipient), else whoever is signed in, else the site's default."""
    reader = context.get("reader")
    if reader is None and has_request_context() and current_user.is_authenticated:
        reader = current_user
    return timezones.zone_name_for(reader)


@pass_context
def _when(context: Context, value: datetime | None) -> Markup:
    """A <time> element in the reader's zone, zone named:
    "Sun 06 Dec 2026, 10:30 CET (Europe/Paris)"."""
    if value is None:
        return Markup("")
    iso = value.strftime("%Y-%m-%dT%H:%M:%SZ")
    text = timezones.local(value, _reader_zone(context))
    return Markup('<time datetime="{}">{}</time>').format(iso, text)


@pass_context
def _local(context: Context, value: datetime | None, fmt: str = timezones.LONG) -> str:
    """Plain text for emails and titles: the same time and zone as `when`, any strftime `fmt`."""
    if value is None:
        return ""
    return timezones.local(value, _reader_zone(context), fmt)


@pass_context
def _day(context: Context, value: datetime | None) -> Markup:
    """A date without the time, like "3 Mar 2025" in the reader's zone (when tokens end)."""
    if value is None:
        return Markup("")
    iso = value.strftime("%Y-%m-%dT%H:%M:%SZ")
    zone = _reader_zone(context)
    title = timezones.local(value, zone)
    text = timezones.local_day(value, zone)
    return Markup('<time datetime="{}" title="{}">{}</time>').format(iso, title, text)


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
        local=_local,
        day=_day,
        ago=_ago,
        thousands=_nl_count,
        filesize=attachments.human_size,
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
