"""Similar past tickets, for the agent's panel: resolved tickets whose text is close to
this one's, and how each was resolved.

"Close" is the database's own full-text search (support/tickets/search.py): the few
most telling words of this ticket's subject and first message, any of them, ranked
by the engine (FTS5's bm25, PostgreSQL's ts_rank). A handful of words keeps the
search cheap and the ranking about what the ticket is about, not how it is phrased.

Two queries whatever the ticket: the closest tickets, and their resolutions. The
search is the team's (notes are in the documents): only agents may see the results.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from support.extensions import db
from support.kb.language import CONVERSATION_WORDS
from support.models import EventKind, Status, Ticket, TicketEvent, User
from support.tickets import permissions, search

LIMIT = 5
MAX_WORDS = 6  # OR-ing more words finds more tickets and ranks them worse
SHORT = 280  # characters of a resolution shown in the panel
READ_MAX = 5_000  # of the first message: its opening says what it is about
SUBJECT_WEIGHT = 3  # a word of the subject counts as three of the message
DONE = (Status.RESOLVED, Status.CLOSED)
# What an agent said to the customer that can carry a resolution.
RESOLVING_KINDS = (EventKind.REPLY, EventKind.WORKAROUND, EventKind.STATUS_CHANGED)

_WORD = re.compile(r"[^\W\d_]\w{2,}")  # three letters or more, a letter first
# Common English words, on top of the conversation words the knowledge base ignores too.
_ENGLISH = frozenset(
    """
    a an and are as at be because but by can for from have if in is it its not of on or
    that the this to was will with you your yours we us me my our they their them he she
    his her hers him
    when while with without within been being do does did done has had having just more
    most other same such than then there these those through very what which who why
    how all any both each few many much own some only out over under again further once
    here where off above below between into during until against also would could should
    """.split()  # noqa: SIM905 - a word list reads better as text
)
STOP = _ENGLISH | CONVERSATION_WORDS


@dataclass(frozen=True)
class Match:
    ticket: Ticket
    resolution: str | None  # the text an agent resolved it with, as written

    @property
    def resolved_at(self) -> datetime | None:
        return self.ticket.resolved_at or self.ticket.closed_at

    @property
    def short(self) -> str | None:
        return shorten(self.resolution) if self.resolution else None


@dataclass(frozen=True)
class Similar:
    words: list[str]  # what was searched for: the empty state says it
    matches: list[Match]


def telling_words(subject: str, message: str, limit: int = MAX_WORDS) -> list[str]:
    """The words that say what a ticket is about: no stop words, numbers or one-letter
    words; the subject's count more; then the longer word first (more specific)."""
    counts: Counter[str] = Counter()
    for text, weight in ((subject, SUBJECT_WEIGHT), (message[:READ_MAX], 1)):
        for word in _WORD.findall(text.lower()):
            if word not in STOP:
                counts[word] += weight
    ranked = sorted(counts, key=lambda w: (-counts[w], -len(w), w))
    return ranked[:limit]


def find(ticket: Ticket, viewer: User, limit: int = LIMIT) -> Similar:
    """Up to `limit` resolved or closed tickets closest to `ticket` that `viewer` may see
    (never itself, a ticket merged away, or one whose text was erased)."""
    words = telling_words(ticket.subject, ticket.description)
    if not words or not permissions.sees_internal(viewer):
        return Similar(words, [])
    closest = search.any_of(words)
    query = (
        permissions.visible_tickets(viewer)
        .join(closest, closest.c.ticket_id == Ticket.id)
        .where(
            Ticket.status.in_(DONE),
            Ticket.id != ticket.id,
            Ticket.merged_into_id.is_(None),
            Ticket.anonymised_at.is_(None),
        )
        .order_by(closest.c.score, Ticket.id.desc())
        .limit(limit)
    )
    found = list(db.session.scalars(query))
    said = resolutions([t.id for t in found])
    return Similar(words, [Match(t, said.get(t.id)) for t in found])


def resolutions(ticket_ids: list[int]) -> dict[int, str]:
    """For each ticket, the last thing an agent told the customer with text: the reply,
    workaround or resolution note it was resolved with (one query)."""
    if not ticket_ids:
        return {}
    latest = (
        select(
            TicketEvent.ticket_id,
            TicketEvent.body_text,
            func.row_number()
            .over(partition_by=TicketEvent.ticket_id, order_by=TicketEvent.id.desc())
            .label("n"),
        )
        .join(Ticket, Ticket.id == TicketEvent.ticket_id)
        .where(
            TicketEvent.ticket_id.in_(ticket_ids),
            TicketEvent.kind.in_(RESOLVING_KINDS),
            TicketEvent.is_public.is_(True),
            TicketEvent.body_text.is_not(None),
            TicketEvent.actor_id.is_not(None),  # the jobs' closing notices are nobody's
            TicketEvent.actor_id != Ticket.customer_id,
        )
        .subquery()
    )
    rows = db.session.execute(select(latest.c.ticket_id, latest.c.body_text).where(latest.c.n == 1))
    return {ticket_id: body for ticket_id, body in rows if body and body.strip()}


def resolution_of(ticket: Ticket) -> str | None:
    return resolutions([ticket.id]).get(ticket.id)


def shorten(text: str, limit: int = SHORT) -> str:
    """On one line, cut at a word boundary with an ellipsis when longer than `limit`."""
    flat = " ".join(text.split())
    if len(flat) <= limit:
        return flat
    cut = flat[:limit].rsplit(" ", 1)[0] or flat[:limit]
    return cut.rstrip(" ,.;:") + "…"
