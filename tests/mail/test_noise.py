"""Automatic mail is never answered; out-of-office replies are quiet notes; bounces mark
the address; caps per sender quarantine the excess."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from support.extensions import db
from support.mail.inbound import settings
from support.models import (
    BouncingAddress,
    InboundStatus,
    Notification,
    OutboxMessage,
    OutboxStatus,
    Outcome,
    Status,
    Ticket,
    TicketEvent,
)
from support.tickets import service
from tests.mail.conftest import email, fixture, ingest


def _count(model) -> int:
    return db.session.scalar(select(func.count(model.id)))


@pytest.mark.parametrize(
    ("sender", "headers"),
    [
        ("dana@example.com", {"Auto_Submitted": "auto-generated"}),
        ("dana@example.com", {"Precedence": "bulk"}),
        ("dana@example.com", {"X_Autoreply": "yes"}),
        ("dana@example.com", {"X_Auto_Response_Suppress": "All"}),
        ("dana@example.com", {"List_Id": "<news.shop.example>"}),
        ("noreply@shop.example", {}),
        ("MAILER-DAEMON@mx.example.com", {}),
    ],
)
def test_automatic_mail_files_nothing_and_sends_nothing(app, sender, headers) -> None:
    row = ingest(email(sender=sender, **headers))
    assert row.outcome == Outcome.IGNORED_AUTOMATIC and row.reason
    assert _count(Ticket) == 0 and _count(OutboxMessage) == 0


def test_our_own_message_coming_back_is_ignored(app) -> None:
    first = ingest(email())
    ack = db.session.scalar(select(OutboxMessage))
    looped = ingest(email(message_id=ack.message_id, subject="We received your request"))
    assert looped.outcome == Outcome.IGNORED_AUTOMATIC
    assert "our own" in looped.reason
    assert _count(Ticket) == 1 and first.outcome == Outcome.NEW


def test_out_of_office_is_a_quiet_internal_note(app, make) -> None:
    ticket = db.session.get(Ticket, ingest(email()).ticket_id)
    agent = make.agent()
    service.reply(ticket, author=agent, body="Could you send the order number?")
    service.change_status(ticket, Status.PENDING, actor=agent)
    before = (ticket.status, ticket.next_update_due, ticket.sla_paused_at)
    emails, notices = _count(OutboxMessage), _count(Notification)
    row = ingest(
        email(
            subject=f"Automatic reply: [{ticket.ref}] My parcel",
            body="I am away until Monday.",
            Auto_Submitted="auto-replied",
        )
    )
    assert row.outcome == Outcome.NOTE and "out-of-office" in row.reason
    event = db.session.get(TicketEvent, row.event_id)
    assert not event.is_public and event.actor_id is None
    db.session.refresh(ticket)
    assert (ticket.status, ticket.next_update_due, ticket.sla_paused_at) == before
    assert (_count(OutboxMessage), _count(Notification)) == (emails, notices)


def test_an_outlook_autoreply_without_headers_is_a_note_too(app) -> None:
    ticket = db.session.get(Ticket, ingest(email()).ticket_id)
    row = ingest(email(subject=f"Automatic reply: [{ticket.ref}] My parcel", body="Away"))
    assert row.outcome == Outcome.NOTE and "out-of-office" in row.reason
    person = ingest(email(subject="Vacation rental refund", body="A person's subject"))
    assert person.outcome == Outcome.NEW


def test_a_bounce_marks_the_address_and_stops_our_mail(app, make, client, auth) -> None:
    ticket = db.session.get(Ticket, ingest(email()).ticket_id)
    tickets = _count(Ticket)
    row = ingest(fixture("bounce_dsn.eml"))
    assert row.outcome == Outcome.BOUNCE and row.reason == "bouncing: dana@example.com"
    assert _count(Ticket) == tickets
    assert db.session.scalar(select(BouncingAddress.address)) == "dana@example.com"

    agent = make.agent()
    service.reply(ticket, author=agent, body="Here is your refund.")
    latest = db.session.scalar(select(OutboxMessage).order_by(OutboxMessage.id.desc()))
    assert latest.status == OutboxStatus.FAILED and "bounces" in latest.last_error

    auth.login(agent)
    page = client.get(f"/board/tickets/{ticket.ref}").get_data(as_text=True)
    assert "Email bouncing" in page

    # A message from the address again: it works, and mail to it goes out again.
    ingest(email(subject=f"Re: [{ticket.ref}]", body="New address book, sorry"))
    assert _count(BouncingAddress) == 0
    assert "Email bouncing" not in client.get(f"/board/tickets/{ticket.ref}").get_data(as_text=True)


def test_caps_per_sender(app, make) -> None:
    settings.save(
        settings.Rules(max_new_tickets_per_hour=2, max_acknowledgements_per_hour=1), make.admin()
    )
    first = ingest(email(subject="one"))
    second = ingest(email(subject="two"))
    assert first.reason.endswith(" acknowledged")
    # Over either cap a message waits in quarantine: kept, neither filed nor answered.
    assert second.status == InboundStatus.QUARANTINED
    assert second.reason == "over the cap of 1 acknowledgements per hour"
    assert _count(OutboxMessage) == 1
    other = ingest(email(sender="someone.else@example.com"))
    assert other.outcome == Outcome.NEW
    settings.save(
        settings.Rules(max_new_tickets_per_hour=2, max_acknowledgements_per_hour=0), make.admin()
    )
    third = ingest(email(subject="three"))
    fourth = ingest(email(subject="four"))
    assert third.outcome == Outcome.NEW
    assert fourth.status == InboundStatus.QUARANTINED
    assert fourth.reason == "over the cap of 2 new tickets per hour"
