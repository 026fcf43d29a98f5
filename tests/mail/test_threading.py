"""Which ticket a message lands on: headers, then the subject's reference, then the plus
address; never subject text; a reference the sender may not see opens a new ticket;
agents post only with a token signed for them."""

from __future__ import annotations

from sqlalchemy import func, select

from support.extensions import db
from support.mail import addresses
from support.mail.inbound import settings
from support.models import (
    EventKind,
    InboundStatus,
    OutboxMessage,
    Outcome,
    Status,
    Ticket,
    TicketEvent,
    User,
)
from support.tickets import service
from tests.mail.conftest import email, ingest


def _emailed_ticket(sender: str = "Dana Customer <dana@example.com>") -> Ticket:
    row = ingest(email(sender=sender))
    assert row.outcome == Outcome.NEW, row.reason
    return db.session.get(Ticket, row.ticket_id)


def _ack(ticket: Ticket) -> OutboxMessage:
    return db.session.scalar(select(OutboxMessage).where(OutboxMessage.ticket_id == ticket.id))


def _event(row) -> TicketEvent:
    return db.session.get(TicketEvent, row.event_id)


def test_a_reply_to_our_acknowledgement_lands_on_the_ticket_verified(app) -> None:
    ticket = _emailed_ticket()
    ack = _ack(ticket)
    plus = addresses.reply_address(ticket.ref, "dana@example.com")
    row = ingest(
        email(to=plus, subject="Re: anything", body="It came!", In_Reply_To=ack.message_id)
    )
    assert (row.outcome, row.ticket_id) == (Outcome.REPLY, ticket.id)
    event = _event(row)
    assert event.kind == EventKind.REPLY and event.actor_id == ticket.customer_id
    assert event.data["email"]["verified"] is True


def test_a_reply_without_a_token_lands_but_is_unverified(app) -> None:
    ticket = _emailed_ticket()
    row = ingest(email(subject="Re: x", body="More detail", References=_ack(ticket).message_id))
    assert row.outcome == Outcome.REPLY and row.reason.endswith("(unverified)")
    assert _event(row).data["email"]["verified"] is False


def test_subject_reference_then_plus_address(app) -> None:
    ticket = _emailed_ticket()
    by_subject = ingest(email(subject=f"About [{ticket.ref}]", body="By subject"))
    assert by_subject.ticket_id == ticket.id
    plus = addresses.reply_address(ticket.ref, "dana@example.com")
    by_address = ingest(email(to=plus, subject="no reference", body="By address"))
    assert by_address.ticket_id == ticket.id


def test_headers_win_over_the_subject(app) -> None:
    first, second = _emailed_ticket(), _emailed_ticket()
    row = ingest(email(subject=f"Re: [{second.ref}]", body="x", In_Reply_To=_ack(first).message_id))
    assert row.ticket_id == first.id


def test_subject_text_alone_never_threads(app) -> None:
    ticket = _emailed_ticket()
    row = ingest(email(subject=f"Re: {ticket.subject}", body="Same subject, no reference"))
    assert row.outcome == Outcome.NEW and row.ticket_id != ticket.id


def test_someone_elses_ticket_becomes_a_new_ticket(app) -> None:
    ticket = _emailed_ticket()
    row = ingest(
        email(
            sender="mallory@example.net",
            subject=f"Re: [{ticket.ref}]",
            body="Let me in",
            In_Reply_To=_ack(ticket).message_id,
        )
    )
    assert row.outcome == Outcome.NEW and row.ticket_id != ticket.id
    assert db.session.get(Ticket, ticket.id).customer.email == "dana@example.com"


def test_a_reply_to_a_closed_ticket_opens_a_linked_follow_up(app, make) -> None:
    ticket = _emailed_ticket()
    agent = make.agent()
    service.change_status(ticket, Status.RESOLVED, actor=agent)
    service.change_status(ticket, Status.CLOSED, actor=agent)
    row = ingest(email(subject=f"Re: [{ticket.ref}]", body="It broke again"))
    assert row.outcome == Outcome.FOLLOW_UP
    follow_up = db.session.get(Ticket, row.ticket_id)
    assert follow_up.parent_id == ticket.id and follow_up.channel.value == "email"


def test_an_unknown_sender_gets_an_unclaimed_account(app) -> None:
    _emailed_ticket("New Person <new@example.org>")
    user = db.session.scalar(select(User).where(User.email == "new@example.org"))
    assert user.name == "New Person" and user.is_unclaimed
    assert not user.check_password("")


def test_only_known_customers_keeps_strangers_in_quarantine(app, make) -> None:
    settings.save(settings.Rules(only_known_customers=True), make.admin())
    row = ingest(email(sender="stranger@example.org"))
    assert row.status == InboundStatus.QUARANTINED and "unknown sender" in row.reason
    known = make.customer()
    assert ingest(email(sender=known.email)).outcome == Outcome.NEW


def test_an_agent_with_a_signed_token_replies_as_themselves(app, make) -> None:
    agent = make.agent()
    ticket = _emailed_ticket()
    plus = addresses.reply_address(ticket.ref, agent.email)
    row = ingest(email(sender=agent.email, to=plus, subject="Re: x", body="On it."))
    assert row.outcome == Outcome.REPLY
    event = _event(row)
    assert (event.kind, event.actor_id, event.is_public) == (EventKind.REPLY, agent.id, True)


def test_a_forged_agent_becomes_an_unverified_internal_note(app, make) -> None:
    agent = make.agent()
    ticket = _emailed_ticket()
    customer_token = addresses.reply_address(ticket.ref, "dana@example.com")
    for raw in (
        email(sender=agent.email, subject=f"[{ticket.ref}]", body="Refund approved"),
        email(sender=agent.email, to=customer_token, subject="x", body="Token not theirs"),
        email(
            sender=agent.email,
            to=addresses.reply_address(ticket.ref, agent.email),
            subject="x",
            body="DMARC failed",
            Authentication_Results="mx.example; spf=pass; dmarc=fail header.from=x",
        ),
    ):
        row = ingest(raw)
        assert row.outcome == Outcome.NOTE and "unverified sender" in row.reason
        event = _event(row)
        assert not event.is_public and event.actor_id is None
        assert event.data["email"]["unverified_sender"]


def test_an_agents_email_never_files_a_ticket(app, make) -> None:
    agent = make.agent()
    row = ingest(email(sender=agent.email, subject="Hello"))
    assert row.status == InboundStatus.QUARANTINED
    assert db.session.scalar(select(func.count(Ticket.id))) == 0
