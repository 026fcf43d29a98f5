"""Every promised time as people read it: one format, with its time zone, everywhere
(the timeline's events, the customer's summary, the agent's panel and cards, emails).

Change how times read here, and only here: templates use the `when` (HTML) and
`when_text` (plain text) filters, which call `when_text`.
"""

from __future__ import annotations

from datetime import datetime

FORMAT = "%a %d %b %Y, %H:%M UTC"  # "Wed 03 Mar 2032, 17:00 UTC"; stored times are UTC


def when_text(value: datetime) -> str:
    """A moment as a sentence says it: "Wed 03 Mar 2032, 17:00 UTC"."""
    return value.strftime(FORMAT)
