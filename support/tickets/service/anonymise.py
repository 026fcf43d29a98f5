"""Remove a ticket's personal text, keep what statistics need (privacy erasure and
retention call this; support/privacy decides which tickets).

Kept: status, priority, category, team, assignee, every time, the rating's score, the
timeline's shape (kinds, who acted, when). Gone: subject and description, every
event's text and free-text data, attachments (rows and files), rating comments,
notification texts, emails in the outbox, webhook deliveries and triage training
text. The search documents are written again from what is left. Each ticket gets an
internal "anonymised" event.

Done in bulk, a batch of tickets at a time, with the same number of statements
whatever the batch holds (bench/privacy.py counts them): no per-ticket unit of
work, no notifications or webhooks (an erasure is not news to announce).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import bindparam, delete, insert, select, update

from support import clock
from support.extensions import db
from support.models import (
    Attachment,
    CategoryCorrection,
    EventKind,
    Notification,
    OutboxMessage,
    Rating,
    Ticket,
    TicketEvent,
    User,
    WebhookDelivery,
)
from support.tickets import attachments, search

SUBJECT = "Personal data removed"
REMOVED = "[removed for privacy]"
NOTIFICATION = "A ticket was updated (its details were removed for privacy)."
# Event data keys that hold words people typed; every other string is kept unless it
# contains the customer's name or email (agent, team and category names stay).
FREE_TEXT_KEYS = {"reason", "note", "comment", "text", "body", "description", "subject", "quoted"}
# Values the timeline reads as codes (a status, a priority, a ref): never rewritten, or
# a customer called "Normal" would break the page that shows the priority change.
CODE_KEYS = {
    "from",
    "to",
    "status",
    "priority",
    "tier",
    "score",
    "merged",
    "into",
    "follow_up",
    "added",
    "removed",
    "by",
    "automatic",
    "team",
    "category",
}


def anonymise(ticket_ids: Sequence[int], *, reason: str, extra_words: Iterable[str] = ()) -> int:
    """Anonymise these tickets (any not yet done, or done before: it is idempotent) and
    commit; their stored files are deleted after the commit. Returns how many.

    `extra_words` are more strings to scrub from event data (an erased customer's
    name and email); each ticket's own customer's name and email always are."""
    ids = list(ticket_ids)
    if not ids:
        return 0
    now = clock.now()
    words = _customer_words(ids) | {w.lower() for w in extra_words if w}
    _scrub_event_data(ids, words)
    db.session.execute(
        update(Ticket)
        .where(Ticket.id.in_(ids))
        .values(
            subject=SUBJECT,
            description="",
            client_token=None,
            anonymised_at=now,
            updated_at=now,
            version=Ticket.version + 1,  # an editor holding the old text gets "reload"
        )
        .execution_options(synchronize_session=False)
    )
    db.session.execute(
        update(TicketEvent)
        .where(TicketEvent.ticket_id.in_(ids), TicketEvent.body_text.is_not(None))
        .values(body_text=REMOVED, body_html=f"<p>{REMOVED}</p>", client_token=None)
        .execution_options(synchronize_session=False)
    )
    keys = list(
        db.session.scalars(select(Attachment.storage_key).where(Attachment.ticket_id.in_(ids)))
    )
    for table, column in (
        (Attachment, Attachment.ticket_id),
        (OutboxMessage, OutboxMessage.ticket_id),
        (WebhookDelivery, WebhookDelivery.ticket_id),
        (CategoryCorrection, CategoryCorrection.ticket_id),
    ):
        db.session.execute(
            delete(table).where(column.in_(ids)).execution_options(synchronize_session=False)
        )
    db.session.execute(
        update(Rating)
        .where(Rating.ticket_id.in_(ids))
        .values(comment=None)
        .execution_options(synchronize_session=False)
    )
    db.session.execute(
        update(Notification)
        .where(Notification.ticket_id.in_(ids))
        .values(text=NOTIFICATION)
        .execution_options(synchronize_session=False)
    )
    db.session.execute(
        insert(TicketEvent),
        [
            {
                "ticket_id": i,
                "kind": EventKind.ANONYMISED,
                "is_public": False,
                "data": {"by": reason},
                "created_at": now,
            }
            for i in ids
        ],
    )
    search.refresh(db.session.connection(), ids)  # the old words must not find them
    db.session.commit()
    db.session.expire_all()
    for key in keys:
        attachments.path_of(key).unlink(missing_ok=True)
    return len(ids)


def _customer_words(ids: list[int]) -> set[str]:
    rows = db.session.execute(
        select(User.name, User.email)
        .join(Ticket, Ticket.customer_id == User.id)
        .where(Ticket.id.in_(ids))
        .distinct()
    )
    return {w.lower() for row in rows for w in row if w}


def _scrub_event_data(ids: list[int], words: set[str]) -> None:
    """Free text and any string naming the customer, out of the events' JSON data."""
    rows = db.session.execute(
        select(TicketEvent.id, TicketEvent.data).where(
            TicketEvent.ticket_id.in_(ids), TicketEvent.data.is_not(None)
        )
    ).all()
    changed = []
    for event_id, data in rows:
        clean = _clean(data, words)
        if clean != data:
            changed.append({"event_id": event_id, "new_data": clean})
    if changed:
        db.session.connection().execute(
            update(TicketEvent.__table__)
            .where(TicketEvent.__table__.c.id == bindparam("event_id"))
            .values(data=bindparam("new_data")),
            changed,
        )


def _clean(value: Any, words: set[str], key: str = "", top: bool = True) -> Any:
    """`top`: the event's own keys, where CODE_KEYS live; a nested block (an email's
    "from" and "quoted") is scrubbed like any text."""
    if top and key in CODE_KEYS:
        return value
    if isinstance(value, dict):
        return {k: _clean(v, words, k, top=not key) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v, words, key, top=top) for v in value]
    if isinstance(value, str) and (key in FREE_TEXT_KEYS or _names(value, words)):
        return REMOVED
    return value


def _names(text: str, words: set[str]) -> bool:
    """A whole name or email in `text` (so "Al" does not match "normal")."""
    lowered = text.lower()
    return any(re.search(rf"(?<!\w){re.escape(w)}(?!\w)", lowered) for w in words)


def drop_attachments(attachment_ids: Sequence[int]) -> int:
    """Delete stored attachments (retention): rows, then files after the commit. The
    timeline keeps its events; the files are simply no longer listed."""
    ids = list(attachment_ids)
    keys = list(db.session.scalars(select(Attachment.storage_key).where(Attachment.id.in_(ids))))
    db.session.execute(
        delete(Attachment)
        .where(Attachment.id.in_(ids))
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    for key in keys:
        attachments.path_of(key).unlink(missing_ok=True)
    return len(keys)
