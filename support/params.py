"""Numbers from URLs and query strings: ids are 32-bit integers in PostgreSQL, and
`str.isdigit()` says yes to "²" (which int() refuses). Out of range or not plain ASCII
digits is "no number", never a 500."""

from __future__ import annotations

from typing import Any

from werkzeug.routing import IntegerConverter

MAX_ID = 2**31 - 1


def plain_int(value: str | None, *, maximum: int = MAX_ID) -> int | None:
    """A non-negative whole number written in ASCII digits and at most `maximum`, else None."""
    if not value or len(value) > len(str(maximum)) or not (value.isascii() and value.isdigit()):
        return None
    number = int(value)
    return number if number <= maximum else None


class IdConverter(IntegerConverter):
    """`<int:…>` in every route: at most MAX_ID unless the route says otherwise, so a
    huge number in a URL is a 404 rather than an overflow in the database."""

    def __init__(self, map: Any, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)
