"""A ticket's search document holds its customer's name and email and what was said:
whatever changes those outside a TicketChange (the account page, an email change, an
anonymised ticket) writes the documents again in the same transaction."""

from __future__ import annotations

from sqlalchemy import select

from support.account import settings
from support.auth import verify
from support.extensions import db
from support.models import Ticket
from support.tickets import search, service


def found(typed: str) -> set[str]:
    terms = search.parse(typed)
    return set(db.session.scalars(select(Ticket.ref).where(search.matching(terms))))


def test_a_new_name_is_found_and_the_old_one_is_not(make) -> None:
    customer = make.customer(name="Brigitte Okafor", email="brigitte@shop.example")
    ticket = make.ticket(customer=customer, subject="Lamp arrived broken")
    settings.save_profile(customer, name="Brigitte Mensah", time_zone="UTC")
    assert found("Mensah") == {ticket.ref}
    assert found("Okafor") == set()


def test_a_changed_email_is_found_and_the_old_one_is_not(make) -> None:
    customer = make.customer(name="Ann Lee", email="ann@old.example")
    ticket = make.ticket(customer=customer, subject="Parcel lost")
    verify.change_email(customer, "ann@new.example")
    assert found("ann@new.example") == {ticket.ref}
    assert found("old.example") == set()


def test_an_anonymised_ticket_is_no_longer_found_by_what_was_said(make, agent) -> None:
    ticket = make.ticket(subject="Chargeback on my card")
    service.reply(ticket, author=agent, body="The courier lost the parcel.", public=True)
    kept = make.ticket(subject="Another chargeback")
    service.anonymise([ticket.id], reason="retention")
    assert found("courier") == set()
    assert found("chargeback") == {kept.ref}
