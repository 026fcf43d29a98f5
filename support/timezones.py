"""Times as their reader reads them: in the reader's time zone, with the zone named.

Every time stored is naive UTC (support.clock). This module is the one place that turns
one into text for a person, on a page or in an email; the templates reach it through the
`when`, `day` and `local` filters (support/templating.py), and the ticket service through
`local` for the promised times it writes into events. One format (LONG) for every time.
The reader's zone is their own choice (`User.time_zone`, set at /account), else
DEFAULT_TIME_ZONE, else UTC.
"""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from functools import cache
from typing import Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from flask import current_app, has_app_context

FALLBACK = "UTC"
# Names zoneinfo knows that nobody should pick (aliases kept for old data, "localtime").
_HIDDEN_PREFIXES = ("Etc/", "SystemV/", "US/", "Canada/", "Brazil/", "Chile/", "Mexico/")
LONG = "%a %d %b %Y, %H:%M"  # Sun 06 Dec 2026, 09:30


class Reader(Protocol):
    time_zone: str | None


@cache
def choices() -> tuple[str, ...]:
    """The zones offered on /account, UTC first then alphabetically (Europe/Paris…)."""
    names = {
        n
        for n in available_timezones()
        if "/" in n and not n.startswith(_HIDDEN_PREFIXES) and n != "localtime"
    }
    return (FALLBACK, *sorted(names))


def is_valid(name: str | None) -> bool:
    """A zoneinfo name this machine knows (any, aliases too: an old choice stays valid)."""
    if not name or len(name) > 64 or not name.isprintable():
        return False
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def default_zone_name() -> str:
    configured = current_app.config.get("DEFAULT_TIME_ZONE") if has_app_context() else None
    return configured if is_valid(configured) else FALLBACK


def zone_name_for(reader: Reader | None) -> str:
    """The zone `reader` sees times in: their own if set and valid, else the default."""
    own = getattr(reader, "time_zone", None)
    return own if is_valid(own) else default_zone_name()


def _zone(name: str) -> tzinfo:
    return UTC if name == FALLBACK else ZoneInfo(name)


def to_zone(value: datetime, zone_name: str) -> datetime:
    """A stored naive-UTC time as an aware time in `zone_name`."""
    aware = value if value.tzinfo else value.replace(tzinfo=UTC)
    return aware.astimezone(_zone(zone_name))


def zone_label(moment: datetime, zone_name: str) -> str:
    """How a time names its zone: "UTC", "CET (Europe/Paris)", or "(Asia/Dubai)" where the
    abbreviation is just an offset like "+04"."""
    if zone_name == FALLBACK:
        return FALLBACK
    abbreviation = moment.tzname() or ""
    if abbreviation.isalpha() and abbreviation != zone_name:
        return f"{abbreviation} ({zone_name})"
    return f"({zone_name})"


def local(value: datetime, zone_name: str, fmt: str = LONG) -> str:
    """`value` (naive UTC) in `zone_name`, formatted by `fmt`, with the zone named:
    "Sun 06 Dec 2026, 10:30 CET (Europe/Paris)"."""
    moment = to_zone(value, zone_name)
    return f"{moment.strftime(fmt)} {zone_label(moment, zone_name)}"


def local_day(value: datetime, zone_name: str) -> str:
    """Just the date in the reader's zone: "3 Mar 2025"."""
    moment = to_zone(value, zone_name)
    return f"{moment.day} {moment:%b %Y}"
