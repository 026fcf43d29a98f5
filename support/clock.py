"""The one source of "now", so SLA and scheduling tests can move time by hand."""

from __future__ import annotations

from datetime import UTC, datetime

_frozen: datetime | None = None


def now() -> datetime:
    """Current time as naive UTC (the form every timestamp is stored in)."""
    if _frozen is not None:
        return _frozen
    return datetime.now(UTC).replace(tzinfo=None)


def freeze(at: datetime | None) -> None:
    """Pin the clock (tests only); `freeze(None)` lets it run again."""
    global _frozen
    _frozen = at
