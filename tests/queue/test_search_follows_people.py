"""A ticket's search document holds its customer's name and email and what was said:
whatever changes those outside a TicketChange (the account page, an email change, an
anonymised ticket) writes the documents again in the same transaction."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text

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


def titled(typed: str) -> set[str]:
    """What the board's search finds: words of the title (reference, subject, customer)."""
    terms = search.parse(typed)
    query = select(Ticket.ref).where(search.matching(terms, titles_only=True))
    return set(db.session.scalars(query))


def test_the_titles_follow_a_new_name_and_a_reply_leaves_them_alone(make, agent) -> None:
    customer = make.customer(name="Brigitte Okafor", email="brigitte@shop.example")
    ticket = make.ticket(customer=customer, subject="Lamp arrived broken")
    service.reply(ticket, author=agent, body="Kilimanjaro warehouse", public=True)
    settings.save_profile(customer, name="Brigitte Mensah", time_zone="UTC")
    assert titled("mensah lamp") == {ticket.ref}
    assert titled("okafor") == set()
    assert titled("kilimanjaro") == set()  # said, not in the title
    assert found("kilimanjaro") == {ticket.ref}


def stored_and_fresh_titles(ticket_id: int) -> tuple[str, str]:
    """PostgreSQL: the title vector the board's search reads, and one made from the title."""
    return db.session.execute(
        text(
            "SELECT t.title_vector::text, to_tsvector('english', s.title)::text "
            "FROM ticket_search s JOIN ticket_search_titles t USING (ticket_id) "
            "WHERE ticket_id = :id"
        ),
        {"id": ticket_id},
    ).one()


def test_postgresql_stores_each_titles_vector_in_step(make, agent) -> None:
    """The board's search reads a tsvector of each title kept in a narrow table of its own
    (migration 0030), written with the document: never a stale one, nor a missing one."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("SQLite's FTS5 table indexes the title column itself")
    customer = make.customer(name="Brigitte Okafor", email="brigitte@shop.example")
    ticket = make.ticket(customer=customer, subject="Lamp arrived broken")
    settings.save_profile(customer, name="Brigitte Mensah", time_zone="UTC")
    service.reply(db.session.get(Ticket, ticket.id), author=agent, body="On it", public=True)
    stored, fresh = stored_and_fresh_titles(ticket.id)
    assert stored == fresh and "'mensah'" in stored and "okafor" not in stored
    verify.change_email(customer, "bm@new.example")
    stored, fresh = stored_and_fresh_titles(ticket.id)
    assert stored == fresh and "'bm@new.example'" in stored and "brigitte@shop" not in stored
    db.session.execute(text("DELETE FROM ticket_search_titles"))
    search.rebuild(db.session.connection())
    db.session.commit()
    assert stored_and_fresh_titles(ticket.id)[0] == fresh


def test_postgresql_leaves_an_unchanged_titles_vector_alone(make, agent) -> None:
    """A reply writes the document again but not the title's vector (the title did not
    change): no new row version, so no new entry in the titles' GIN index."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("SQLite's FTS5 table indexes the title column itself")
    ticket = make.ticket(subject="Lamp arrived broken")
    version = text("SELECT xmin::text FROM ticket_search_titles WHERE ticket_id = :id")
    before = db.session.scalar(version, {"id": ticket.id})
    reply = "The courier confirmed the delivery."
    service.reply(db.session.get(Ticket, ticket.id), author=agent, body=reply, public=True)
    assert found("courier") == {ticket.ref}  # the document was written
    assert db.session.scalar(version, {"id": ticket.id}) == before
