"""People in Cc follow the ticket: they get its public updates by email, and their
replies land on it."""

from __future__ import annotations

from sqlalchemy import select

from support.extensions import db
from support.models import EventKind, OutboxMessage, Outcome, Ticket, TicketEvent, User
from support.tickets import service
from tests.mail.conftest import email, ingest


def test_cc_follows_gets_updates_and_can_reply(app, make) -> None:
    row = ingest(email(Cc="Pat Colleague <pat@example.com>, support+x@localhost"))
    ticket = db.session.get(Ticket, row.ticket_id)
    pat = db.session.scalar(select(User).where(User.email == "pat@example.com"))
    assert service.follower_ids(ticket) == {pat.id}  # never our own address

    agent = make.agent()
    service.reply(ticket, author=agent, body="We are on it.")
    to_pat = db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.to_address == "pat@example.com")
    ).all()
    assert len(to_pat) == 1 and "We are on it." in to_pat[0].body_text
    assert to_pat[0].body_text.startswith("Hello pat,")

    answer = ingest(email(sender="pat@example.com", subject=f"Re: [{ticket.ref}]", body="+1"))
    assert (answer.outcome, answer.ticket_id) == (Outcome.REPLY, ticket.id)
    event = db.session.get(TicketEvent, answer.event_id)
    assert (event.kind, event.actor_id, event.is_public) == (EventKind.REPLY, pat.id, True)
    # The customer hears of it; Pat is not told of their own words.
    assert (
        db.session.scalars(
            select(OutboxMessage).where(OutboxMessage.to_address == "pat@example.com")
        ).all()
        == to_pat
    )


def test_internal_notes_never_reach_followers(app, make) -> None:
    row = ingest(email(Cc="pat@example.com"))
    ticket = db.session.get(Ticket, row.ticket_id)
    service.reply(ticket, author=make.agent(), body="Internal only", public=False)
    assert not db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.to_address == "pat@example.com")
    ).all()
