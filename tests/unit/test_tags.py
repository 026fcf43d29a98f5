"""Ticket tags: names (support/tickets/tags.py) and set_tags in the ticket service."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import func, insert, select, update

from support import clock
from support.extensions import db
from support.models import EventKind, Status, Tag, Ticket, TicketEvent
from support.tickets import service
from support.tickets import tags as tag_names
from support.tickets.service import StaleTicket, TicketClosed, TicketError
from support.tickets.tags import NAME_MAX, PER_TICKET_MAX, BadTag
from tests.factories import Factory


def tag_events(ticket: Ticket) -> list[TicketEvent]:
    query = (
        select(TicketEvent)
        .where(TicketEvent.ticket_id == ticket.id, TicketEvent.kind == EventKind.TAGS_CHANGED)
        .order_by(TicketEvent.id)
    )
    return list(db.session.scalars(query))


def names(ticket: Ticket) -> list[str]:
    db.session.expire(ticket, ["tags"])
    return [tag.name for tag in ticket.tags]


# --- names -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("Refund", "refund"),
        ("  VIP   Seller ", "vip seller"),
        ("mobile\tapp", "mobile app"),
        ("Überweisung", "überweisung"),
        ("r&d", "r&d"),
        ("tier-2.escalation+1", "tier-2.escalation+1"),
        ("a" * NAME_MAX, "a" * NAME_MAX),
    ],
)
def test_names_are_normalised(typed, stored) -> None:
    assert tag_names.normalise(typed) == stored


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("", "can't be empty"),
        ("   ", "can't be empty"),
        ("a" * (NAME_MAX + 1), f"at most {NAME_MAX} characters"),
        ("<b>", "isn't a tag"),
        ("-leading", "isn't a tag"),
        ("semi;colon", "isn't a tag"),
        ("a,b", "isn't a tag"),
        ("#vip", "isn't a tag"),
    ],
)
def test_bad_names_are_refused(typed, message) -> None:
    with pytest.raises(BadTag, match=message):
        tag_names.normalise(typed)


def test_parse_drops_duplicates_keeping_the_first_spelling_and_order() -> None:
    assert tag_names.parse(["VIP", "refund", "vip ", "Refund", "shipping  delay"]) == [
        "vip",
        "refund",
        "shipping delay",
    ]


def test_parse_limits_tags_per_ticket_after_removing_duplicates() -> None:
    exactly = [f"t{i}" for i in range(PER_TICKET_MAX)]
    assert tag_names.parse([*exactly, "T0", "t1"]) == exactly
    with pytest.raises(BadTag, match=f"at most {PER_TICKET_MAX} tags"):
        tag_names.parse([*exactly, "one more"])


def test_parse_refuses_one_string_and_non_names() -> None:
    """An API client sending "refund" instead of ["refund"] gets a message, not six tags."""
    with pytest.raises(BadTag, match="list of names"):
        tag_names.parse("refund")
    with pytest.raises(BadTag, match="is a name"):
        tag_names.parse(["refund", 3])


def test_split_takes_comma_separated_text() -> None:
    assert tag_names.split("refund, vip seller,, ,") == ["refund", " vip seller"]
    assert tag_names.split("  ") == []


def test_find_or_create_takes_a_tag_someone_else_just_inserted(app, monkeypatch) -> None:
    """Two requests adding the same new tag at once: the loser uses the winner's row."""
    db.session.add(Tag(name="vip"))
    db.session.commit()
    looked_up = iter([{}])  # our first look-up ran before their insert
    real = tag_names._by_name
    monkeypatch.setattr(tag_names, "_by_name", lambda names: next(looked_up, None) or real(names))
    found = tag_names.find_or_create(["refund", "vip"])
    assert [t.name for t in found] == ["refund", "vip"] and all(t.id for t in found)
    db.session.commit()
    assert db.session.scalar(select(func.count(Tag.id))) == 2


# --- set_tags ----------------------------------------------------------------------------


def test_agent_sets_tags_and_an_internal_event_says_what_changed(make: Factory) -> None:
    ticket, agent = make.ticket(), make.agent()
    event = service.set_tags(ticket, ["Refund", "VIP"], actor=agent)
    assert names(ticket) == ["refund", "vip"]  # by name
    assert event.kind == EventKind.TAGS_CHANGED and not event.is_public
    assert event.actor_id == agent.id
    assert event.data == {"added": ["refund", "vip"], "removed": []}

    event = service.set_tags(ticket, ["vip", "chargeback"], actor=agent)
    assert names(ticket) == ["chargeback", "vip"]
    assert event.data == {"added": ["chargeback"], "removed": ["refund"]}
    assert db.session.scalar(select(func.count(Tag.id))) == 3  # "refund" stays for others


def test_tags_are_shared_between_tickets(make: Factory) -> None:
    agent = make.agent()
    first, second = make.ticket(), make.ticket()
    service.set_tags(first, ["refund"], actor=agent)
    service.set_tags(second, ["Refund", "vip"], actor=agent)
    assert db.session.scalar(select(func.count(Tag.id))) == 2
    assert names(first) == ["refund"] and names(second) == ["refund", "vip"]


def test_no_event_when_nothing_changes(make: Factory) -> None:
    ticket, agent = make.ticket(), make.agent()
    service.set_tags(ticket, ["refund", "vip"], actor=agent)
    version = ticket.version
    assert service.set_tags(ticket, ["VIP", " refund", "vip"], actor=agent) is None
    assert len(tag_events(ticket)) == 1
    assert ticket.version == version


def test_clearing_every_tag(make: Factory) -> None:
    ticket, agent = make.ticket(), make.agent()
    service.set_tags(ticket, ["refund"], actor=agent)
    event = service.set_tags(ticket, [], actor=agent)
    assert names(ticket) == [] and event.data == {"added": [], "removed": ["refund"]}


def test_a_bad_tag_saves_nothing(make: Factory) -> None:
    ticket, agent = make.ticket(), make.agent()
    service.set_tags(ticket, ["refund"], actor=agent)
    with pytest.raises(TicketError, match="isn't a tag"):
        service.set_tags(ticket, ["vip", "<script>"], actor=agent)
    assert names(ticket) == ["refund"]
    assert len(tag_events(ticket)) == 1
    assert db.session.scalar(select(Tag.id).where(Tag.name == "vip")) is None


def test_too_many_tags_are_refused(make: Factory) -> None:
    with pytest.raises(TicketError, match=f"at most {PER_TICKET_MAX} tags"):
        service.set_tags(
            make.ticket(), [f"t{i}" for i in range(PER_TICKET_MAX + 1)], actor=make.agent()
        )


def test_customers_cannot_tag_even_their_own_ticket(make: Factory) -> None:
    customer = make.customer()
    ticket = make.ticket(customer)
    with pytest.raises(TicketError, match="Only the support team can tag tickets"):
        service.set_tags(ticket, ["urgent"], actor=customer)
    assert names(ticket) == [] and tag_events(ticket) == []


def test_closed_tickets_cannot_be_tagged(make: Factory) -> None:
    ticket = make.ticket()
    ticket.status = Status.CLOSED  # set-up, not a transition under test
    db.session.commit()
    with pytest.raises(TicketClosed, match="closed"):
        service.set_tags(ticket, ["refund"], actor=make.agent())
    assert names(ticket) == []


def test_a_stale_version_is_refused(make: Factory) -> None:
    ticket, agent = make.ticket(), make.agent(name="Robin Agent")
    seen = ticket.version
    service.set_tags(ticket, ["refund"], actor=agent)
    with pytest.raises(StaleTicket, match="changed by Robin Agent"):
        service.set_tags(ticket, ["vip"], actor=make.agent(), expected_version=seen)
    assert names(ticket) == ["refund"]


def test_tagging_moves_the_version_on_even_within_the_same_instant(make: Factory) -> None:
    """Only the tags change (updated_at may not, on a stopped clock): the version still
    moves, so an agent holding the old one is refused."""
    clock.freeze(datetime(2026, 3, 3, 9, 0))
    try:
        ticket, agent = make.ticket(), make.agent()
        seen = ticket.version
        service.set_tags(ticket, ["refund"], actor=agent)
        assert ticket.version == seen + 1
        with pytest.raises(StaleTicket):
            service.set_tags(ticket, ["vip"], actor=agent, expected_version=seen)
    finally:
        clock.freeze(None)


def test_a_race_lost_at_commit_is_a_stale_ticket(make: Factory) -> None:
    ticket, agent = make.ticket(), make.agent()
    with db.engine.begin() as other:  # another web worker got there first
        table = Ticket.__table__
        other.execute(
            update(table).where(table.c.id == ticket.id).values(version=table.c.version + 1)
        )
        tag_id = other.execute(insert(Tag.__table__).values(name="theirs")).inserted_primary_key
    assert tag_id
    with pytest.raises(StaleTicket):
        service.set_tags(ticket, ["refund"], actor=agent)
    assert db.session.scalar(select(Tag.id).where(Tag.name == "refund")) is None
