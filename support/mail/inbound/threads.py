"""Which ticket a message belongs to, by evidence only, strongest first:

1. `In-Reply-To` / `References` against every Message-ID we sent (the outbox, the
   thread root `<SUP-XXXXXX@domain>`) or received (inbound messages) for a ticket;
2. the reference `[SUP-XXXXXX]` in the subject;
3. the plus address `support+SUP-XXXXXX.<sig>@…` it was sent to.

Never by subject text alone; when headers and subject disagree, headers win.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import select

from support.extensions import db
from support.mail import addresses
from support.mail.inbound.parse import Mail
from support.models import InboundMessage, OutboxMessage, Ticket
from support.tickets import refs

_SUBJECT_REF = re.compile(rf"\[\s*({refs.PREFIX}[{refs.ALPHABET}]{{{refs.LENGTH}}})\s*\]", re.I)
_ROOT_ID = re.compile(rf"^<({refs.PREFIX}[{refs.ALPHABET}]{{{refs.LENGTH}}})@", re.I)


@dataclass
class Match:
    ticket: Ticket
    how: str  # "headers", "subject" or "address"
    signature: str | None = None  # the plus address's token, when the address matched one


def referenced_ids(mail: Mail) -> list[str]:
    """The Message-IDs the message answers, the most direct first."""
    return list(dict.fromkeys(mail.in_reply_to + list(reversed(mail.references))))


def ours(message_ids: list[str]) -> bool:
    """Whether any of these is a Message-ID we sent (our own mail coming back)."""
    if not message_ids:
        return False
    found = db.session.scalar(
        select(OutboxMessage.id).where(OutboxMessage.message_id.in_(message_ids)).limit(1)
    )
    return found is not None or any(_ROOT_ID.match(i) for i in message_ids)


def by_headers(mail: Mail) -> Ticket | None:
    ids = referenced_ids(mail)[:100]
    if not ids:
        return None
    sent = dict(
        db.session.execute(
            select(OutboxMessage.message_id, OutboxMessage.ticket_id).where(
                OutboxMessage.message_id.in_(ids), OutboxMessage.ticket_id.is_not(None)
            )
        ).all()
    )
    received = dict(
        db.session.execute(
            select(InboundMessage.message_id, InboundMessage.ticket_id).where(
                InboundMessage.message_id.in_(ids), InboundMessage.ticket_id.is_not(None)
            )
        ).all()
    )
    for message_id in ids:
        ticket_id = sent.get(message_id) or received.get(message_id)
        if ticket_id is not None:
            return db.session.get(Ticket, ticket_id)
        root = _ROOT_ID.match(message_id)
        if root and (ticket := _by_ref(root.group(1))):
            return ticket
    return None


def _by_ref(ref: str) -> Ticket | None:
    normal = refs.normalise(ref)
    if normal is None:
        return None
    return db.session.scalar(select(Ticket).where(Ticket.ref == normal))


def plus_address(mail: Mail) -> tuple[str, str] | None:
    """(ticket reference, signature) from the first plus address it was sent to."""
    for recipient in mail.recipients:
        if parsed := addresses.parse(recipient):
            return parsed
    return None


def find(mail: Mail) -> Match | None:
    plus = plus_address(mail)
    signature = plus[1] if plus else None
    if ticket := by_headers(mail):
        same = plus is not None and plus[0] == ticket.ref
        return Match(ticket, "headers", signature if same else None)
    found = _SUBJECT_REF.search(mail.subject or "")
    if found and (ticket := _by_ref(found.group(1))):
        same = plus is not None and plus[0] == ticket.ref
        return Match(ticket, "subject", signature if same else None)
    if plus is not None and (ticket := _by_ref(plus[0])):
        return Match(ticket, "address", signature)
    return None
