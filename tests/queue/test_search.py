"""Ticket search on the engine the suite runs on (SQLite FTS5, or PostgreSQL tsvector + GIN
with TEST_DATABASE_URL): kept in step by the ticket service, literal text, marked snippets."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text

from support.extensions import db
from support.models import Ticket
from support.tickets import search, service
from support.tickets.service import change as change_module


def found(typed: str) -> set[str]:
    terms = search.parse(typed)
    return set(db.session.scalars(select(Ticket.ref).where(search.matching(terms))))


def test_subject_messages_notes_and_customer_are_found(make, agent) -> None:
    customer = make.customer(name="Brigitte Okafor", email="brigitte@shop.example")
    ticket = make.ticket(customer=customer, subject="Lamp arrived broken")
    other = make.ticket(subject="Cannot sign in")
    service.reply(
        ticket, author=agent, body="We sent a courier to collect the parcel.", public=True
    )
    service.reply(
        ticket, author=agent, body="Seller confirmed the chargeback window.", public=False
    )
    assert found("lamp") == {ticket.ref}
    assert found("courier parcel") == {ticket.ref}  # every word, across messages
    assert found("chargeback") == {ticket.ref}  # internal notes too: the search is the team's
    assert found("Okafor") == {ticket.ref}
    assert found("brigitte@shop.example") == {ticket.ref}
    assert found(ticket.ref.lower()) == {ticket.ref}
    assert found("sign") == {other.ref}
    assert found("lamp sign") == set()


def test_stemming_and_phrases(make, agent) -> None:
    ticket = make.ticket(subject="Refunds are late")
    service.reply(
        ticket, author=agent, body="The payout was delayed by the bank holiday.", public=True
    )
    assert found("refund") == {ticket.ref}
    assert found("delays") == {ticket.ref}
    assert found('"bank holiday"') == {ticket.ref}
    assert found('"holiday bank"') == set()


@pytest.mark.parametrize(
    "typed",
    [
        '"',
        '"lamp',
        "lamp -broken",
        "-",
        "*",
        "lamp*",
        "(lamp",
        "lamp)",
        "((",
        "NOT",
        "AND OR",
        "lamp NEAR broken",
        "title:lamp",
        "^lamp",
        "'; drop table tickets; --",
        "a\\b",
        "\u00a0",
        "\ue000",
        "!@#$%^&*()",
        "x" * 300,
    ],
)
def test_syntax_is_literal_text(make, typed: str) -> None:
    ticket = make.ticket(subject="Lamp arrived broken")
    result = found(typed)  # never an error from the engine
    assert result <= {ticket.ref}
    search.snippets(search.parse(typed), [ticket.id])


def test_the_index_follows_every_change_in_the_same_transaction(make, agent, monkeypatch) -> None:
    ticket = make.ticket(subject="Old words")
    service.reply(ticket, author=agent, body="Zanzibar shipment", public=True)
    assert found("zanzibar") == {ticket.ref}

    # A change that fails after the index was written (here: just before the commit)
    # rolls the index back with it.
    def broken(ticket):
        raise RuntimeError("the change fails after the index was written")

    monkeypatch.setattr(change_module.automation, "sla_wake_ups", broken)
    with pytest.raises(RuntimeError):
        service.reply(ticket, author=agent, body="Kilimanjaro", public=True)
    monkeypatch.undo()
    assert found("kilimanjaro") == set()
    service.reply(db.session.get(Ticket, ticket.id), author=agent, body="Kilimanjaro", public=True)
    assert found("kilimanjaro") == {ticket.ref}


def test_rebuild_writes_every_document(make) -> None:
    first, second = make.ticket(subject="Alpha"), make.ticket(subject="Beta")
    db.session.execute(text("DELETE FROM ticket_search"))
    assert found("alpha") == set()
    search.rebuild(db.session.connection())
    db.session.commit()
    assert found("alpha") == {first.ref} and found("beta") == {second.ref}


def documents() -> list[tuple]:
    """Every stored document (on PostgreSQL with its vectors, the titles' own too)."""
    if db.engine.dialect.name == "sqlite":
        query = "SELECT rowid, title, body FROM ticket_search ORDER BY rowid"
    else:
        query = (
            "SELECT ticket_id, s.title, s.body, s.document::text, t.title_vector::text "
            "FROM ticket_search s JOIN ticket_search_titles t USING (ticket_id) "
            "ORDER BY ticket_id"
        )
    return [tuple(row) for row in db.session.execute(text(query))]


def test_rebuild_writes_what_the_service_wrote_in_ticket_order(make, agent) -> None:
    """A rebuilt document is the one the ticket service wrote. SQLite: FTS5 takes them in
    ticket order, as one segment, even where the planner would read the tickets by
    customer (as it does at 200,000): out of order, FTS5 writes out its pending words at
    every step back, and a rebuild of 200,000 tickets took 23 minutes."""
    ann, bob = make.customer(name="Ann Zed"), make.customer(name="Bob Young")
    for n in range(12):
        ticket = make.ticket(customer=[bob, ann][n % 2], subject=f"Lamp number {n}")
        service.reply(ticket, author=agent, body=f"Kettle {n}", public=True)
        service.reply(ticket, author=agent, body=f"Parcel {n}", public=False)
    written = documents()
    db.session.execute(text("DELETE FROM ticket_search"))
    if db.engine.dialect.name == "sqlite":
        # The planner's statistics as at 200,000 tickets of 20,000 customers, where it
        # reads each customer's tickets (ix_tickets_customer_updated) rather than in order.
        db.session.execute(text("ANALYZE"))
        for table, rows in (("tickets", 200_000), ("users", 20_000)):
            db.session.execute(
                text(
                    "UPDATE sqlite_stat1 SET stat = :rows || substr(stat, instr(stat, ' ')) "
                    "WHERE tbl = :table AND instr(stat, ' ')"
                ),
                {"rows": rows, "table": table},
            )
        customers = "UPDATE sqlite_stat1 SET stat = '200000 10 1' WHERE idx = :index"
        db.session.execute(text(customers), {"index": "ix_tickets_customer_updated"})
        db.session.execute(text("ANALYZE sqlite_schema"))  # read the statistics again
    search.rebuild(db.session.connection())
    db.session.commit()
    assert documents() == written and len(written) == 12
    if db.engine.dialect.name == "sqlite":
        segments = db.session.scalar(text("SELECT count(DISTINCT segid) FROM ticket_search_idx"))
        assert segments == 1


def test_snippets_mark_the_words_and_escape_the_rest(make, agent) -> None:
    ticket = make.ticket(subject="Widget")
    service.reply(ticket, author=agent, body="<b>Bold</b> widget & gadget broke.", public=True)
    snippet = search.snippets(search.parse("gadget"), [ticket.id])[ticket.id]
    assert "<mark>gadget</mark>" in snippet
    assert "<b>" not in snippet and "&amp; <mark>" in snippet  # PostgreSQL drops the tag text


def test_parse_keeps_words_and_paired_quotes_only(app) -> None:
    assert search.parse('refund "bank holiday" -late (x*') == search.Terms(
        ("bank holiday",), ("refund", "late", "x")
    )
    assert not search.parse('*** "" ( ) -')
    assert found("***") == set()
