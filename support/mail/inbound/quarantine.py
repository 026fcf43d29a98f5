"""What admins do with a message that could not be filed (the /admin/mail page calls
these): retry, file as a new ticket, attach to a ticket, discard. Each records who did
it and when. The settings ("only known customers", per-sender caps) live in
settings.py and are re-exported here for that page.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from support import clock
from support.extensions import db
from support.mail.inbound import filing, intake
from support.mail.inbound.settings import Rules, current, save
from support.models import InboundMessage, InboundStatus, Outcome, Ticket, User
from support.tickets.service import TicketError

__all__ = [
    "Rules",
    "attach_to",
    "current_settings",
    "discard",
    "file_as_new",
    "quarantined",
    "retry",
    "save_settings",
]

current_settings = current
save_settings = save


class NotInQuarantine(ValueError):
    """The message was filed or discarded meanwhile; the text says so."""


def quarantined(limit: int = 100, before_id: int | None = None) -> list[InboundMessage]:
    """Messages waiting for an admin, newest first (`raw` not loaded)."""
    query = select(InboundMessage).where(InboundMessage.status == InboundStatus.QUARANTINED)
    if before_id is not None:
        query = query.where(InboundMessage.id < before_id)
    return list(db.session.scalars(query.order_by(InboundMessage.id.desc()).limit(limit)))


def _handled(message: InboundMessage, action: str, actor: User) -> None:
    if message.status != InboundStatus.QUARANTINED:
        raise NotInQuarantine(f"Message {message.id} is {message.status.value}, not quarantined.")
    message.handled_action, message.handled_by_id = action, actor.id
    message.handled_at = clock.now()


def retry(message: InboundMessage, actor: User) -> Outcome:
    """File it again by the usual rules (after a fix, a settings change, a new account)."""
    _handled(message, "retry", actor)
    message.status, message.outcome, message.reason = InboundStatus.RECEIVED, None, None
    db.session.commit()
    return intake.file_message(message.id)


def _by_hand(message: InboundMessage, action: str, actor: User, run) -> Outcome:
    _handled(message, action, actor)
    db.session.commit()
    try:
        result = run()
    except SQLAlchemyError:
        db.session.rollback()
        raise
    except (TicketError, ValueError) as exc:
        db.session.rollback()
        result = filing.Result(Outcome.QUARANTINED, f"{action} failed: {exc}")
    message = db.session.get(InboundMessage, message.id)
    return intake.record(message, result)


def file_as_new(message: InboundMessage, actor: User) -> Outcome:
    """A new ticket from it, whatever its headers reference (caps and rules aside)."""
    return _by_hand(message, "file-as-new", actor, lambda: filing.file_as_new(message))


def attach_to(message: InboundMessage, ticket: Ticket, actor: User) -> Outcome:
    """Onto this ticket: its customer's reply, or an internal note naming the admin."""
    return _by_hand(message, "attach", actor, lambda: filing.attach_to(message, ticket, actor))


def discard(message: InboundMessage, actor: User) -> None:
    """Thrown away, but kept (raw included) with who discarded it and when."""
    _handled(message, "discard", actor)
    message.status = InboundStatus.DISCARDED
    db.session.commit()
