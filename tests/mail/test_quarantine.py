"""What admins do with quarantined mail: retry, file as new, attach to a ticket,
discard; each records who and when."""

from __future__ import annotations

import pytest

from support.extensions import db
from support.mail.inbound import quarantine
from support.models import EventKind, InboundStatus, Outcome, Ticket, TicketEvent
from tests.mail.conftest import email, ingest


def _quarantined(app, make):
    quarantine.save_settings(quarantine.Rules(only_known_customers=True), make.admin())
    row = ingest(email(sender="stranger@example.org", subject="Hello"))
    assert row.status == InboundStatus.QUARANTINED
    return row


def test_retry_after_a_settings_change_files_it(app, make) -> None:
    row = _quarantined(app, make)
    admin = make.admin()
    assert quarantine.quarantined() == [row]
    quarantine.save_settings(quarantine.Rules(only_known_customers=False), admin)
    assert quarantine.retry(row, admin) == Outcome.NEW
    db.session.refresh(row)
    assert (row.status, row.handled_action, row.handled_by_id) == (
        InboundStatus.FILED,
        "retry",
        admin.id,
    )
    assert row.handled_at is not None and quarantine.quarantined() == []


def test_file_as_new_ignores_the_rules(app, make) -> None:
    row = _quarantined(app, make)
    assert quarantine.file_as_new(row, make.admin()) == Outcome.NEW
    assert db.session.get(Ticket, row.ticket_id).customer.email == "stranger@example.org"


def test_attach_to_a_ticket_as_an_internal_note(app, make) -> None:
    row = _quarantined(app, make)
    ticket = make.ticket()
    admin = make.admin(name="Ada Admin")
    assert quarantine.attach_to(row, ticket, admin) == Outcome.NOTE
    event = db.session.get(TicketEvent, row.event_id)
    assert (event.ticket_id, event.kind, event.is_public) == (ticket.id, EventKind.NOTE, False)
    assert event.data["email"]["attached_by"] == "Ada Admin"


def test_discard_keeps_the_message_and_says_who(app, make) -> None:
    row = _quarantined(app, make)
    admin = make.admin()
    quarantine.discard(row, admin)
    db.session.refresh(row)
    assert (row.status, row.handled_action, row.handled_by_id) == (
        InboundStatus.DISCARDED,
        "discard",
        admin.id,
    )
    assert row.raw  # kept
    with pytest.raises(quarantine.NotInQuarantine):
        quarantine.retry(row, admin)


def test_settings_refuse_a_silly_cap(app, make) -> None:
    with pytest.raises(ValueError, match="from 0"):
        quarantine.save_settings(quarantine.Rules(max_new_tickets_per_hour=-1), make.admin())
