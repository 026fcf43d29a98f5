"""The ticket service: the one writer of tickets and their timelines."""

from __future__ import annotations

import io
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select, update

from support import clock
from support.extensions import db
from support.models import EventKind, Impact, Priority, Rating, Status, Ticket, TicketEvent
from support.tickets import attachments, service
from support.tickets.service import TRANSITIONS, StaleTicket, TicketClosed, TicketError
from tests.factories import Factory

NOW = datetime(2026, 3, 3, 9, 0)


@pytest.fixture
def frozen():
    clock.freeze(NOW)
    yield NOW
    clock.freeze(None)


def kinds(ticket: Ticket) -> list[EventKind]:
    return list(
        db.session.scalars(
            select(TicketEvent.kind)
            .where(TicketEvent.ticket_id == ticket.id)
            .order_by(TicketEvent.id)
        )
    )


def set_status(ticket: Ticket, status: Status) -> None:
    """Put a ticket straight into `status` (test set-up, not a transition under test)."""
    ticket.status = status
    db.session.commit()


# --- opening -----------------------------------------------------------------------------


def test_open_ticket_records_created_event(make: Factory) -> None:
    ticket = make.ticket(description="Two charges")
    assert ticket.status == Status.NEW
    event = db.session.scalar(select(TicketEvent).where(TicketEvent.ticket_id == ticket.id))
    assert event.kind == EventKind.CREATED
    assert event.actor_id == ticket.customer_id
    assert event.is_public
    assert event.body_text == "Two charges"
    assert event.body_html == "<p>Two charges</p>"


def test_open_ticket_gives_unique_refs(make: Factory) -> None:
    customer = make.customer()
    tickets = [make.ticket(customer) for _ in range(20)]
    assert len({t.ref for t in tickets}) == 20


def test_open_ticket_strips_the_subject(make: Factory) -> None:
    assert make.ticket(subject="  Padded  ").subject == "Padded"


def test_open_ticket_folds_the_subject_onto_one_line(make: Factory) -> None:
    # A direct POST can send line breaks in the subject; it becomes an email header.
    assert make.ticket(subject="a\r\nSet-Cookie: x=1").subject == "a Set-Cookie: x=1"
    assert make.ticket(subject="Tabs\tand\n\n  gaps\x00here").subject == "Tabs and gaps here"


def test_subject_length_is_checked_after_folding(make: Factory) -> None:
    subject = "s" * (service.SUBJECT_MAX - 1) + "\r\n\r\n\t"
    assert make.ticket(subject=subject).subject == "s" * (service.SUBJECT_MAX - 1)


@pytest.mark.parametrize(
    ("subject", "description", "message"),
    [
        ("   ", "body", "subject"),
        ("\r\n\t", "body", "subject"),
        ("s" * (service.SUBJECT_MAX + 1), "body", "at most 200"),
        ("Subject", " \n ", "write a message"),
        ("Subject", "x" * (service.BODY_MAX + 1), "at most 50,000"),
    ],
)
def test_open_ticket_refuses_bad_text(
    make: Factory, subject: str, description: str, message: str
) -> None:
    customer = make.customer()
    with pytest.raises(TicketError, match=f"(?i){message}"):
        make.ticket(customer, subject=subject, description=description)
    assert db.session.scalar(select(func.count(Ticket.id))) == 0


def test_same_client_token_files_once(make: Factory) -> None:
    customer = make.customer()
    first = make.ticket(customer, client_token="tok-1")
    again = make.ticket(customer, client_token="tok-1", subject="Different")
    assert again.id == first.id
    assert db.session.scalar(select(func.count(Ticket.id))) == 1


def test_client_token_is_per_customer(make: Factory) -> None:
    one = make.ticket(make.customer(), client_token="tok")
    two = make.ticket(make.customer(), client_token="tok")
    assert one.id != two.id


def test_duplicate_submit_discards_its_files(make: Factory) -> None:
    customer = make.customer()
    make.ticket(customer, client_token="tok")
    stored = attachments.store("log.txt", io.BytesIO(b"hello"))
    make.ticket(customer, client_token="tok", files=[stored])
    assert not attachments.path_of(stored.storage_key).exists()


# --- SLA ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("impact", "priority", "first_hours", "resolution_hours"),
    [
        (Impact.JUST_ME, Priority.NORMAL, 8, 72),
        (Impact.SOME_USERS, Priority.HIGH, 4, 24),
        (Impact.MANY_USERS, Priority.URGENT, 1, 8),
    ],
)
def test_sla_due_times_follow_priority(
    make: Factory,
    frozen: datetime,
    impact: Impact,
    priority: Priority,
    first_hours: int,
    resolution_hours: int,
) -> None:
    ticket = make.ticket(impact=impact)
    assert ticket.priority == priority
    assert ticket.created_at == frozen
    assert ticket.first_response_due == frozen + timedelta(hours=first_hours)
    assert ticket.next_update_due == ticket.first_response_due
    assert ticket.resolution_due == frozen + timedelta(hours=resolution_hours)
    assert ticket.first_responded_at is None


def test_agent_public_reply_records_first_response(make: Factory, frozen: datetime) -> None:
    ticket = make.ticket()
    agent = make.agent()
    clock.freeze(frozen + timedelta(minutes=30))
    service.reply(ticket, author=agent, body="We are on it.")
    assert ticket.first_responded_at == frozen + timedelta(minutes=30)
    assert ticket.next_update_due == frozen + timedelta(minutes=30, hours=24)
    assert ticket.status == Status.OPEN


def test_later_agent_reply_keeps_first_response_time(make: Factory, frozen: datetime) -> None:
    ticket = make.ticket()
    agent = make.agent()
    service.reply(ticket, author=agent, body="First answer")
    clock.freeze(frozen + timedelta(hours=2))
    service.reply(ticket, author=agent, body="Second answer")
    assert ticket.first_responded_at == frozen
    assert ticket.next_update_due == frozen + timedelta(hours=2 + 24)


def test_internal_note_is_not_a_first_response(make: Factory) -> None:
    ticket = make.ticket()
    event = service.reply(ticket, author=make.agent(), body="Checking logs", public=False)
    assert event.kind == EventKind.NOTE
    assert not event.is_public
    assert ticket.first_responded_at is None
    assert ticket.status == Status.NEW


def test_customer_reply_is_not_a_first_response(make: Factory) -> None:
    ticket = make.ticket()
    service.reply(ticket, author=ticket.customer, body="Any news?")
    assert ticket.first_responded_at is None


# --- replies -----------------------------------------------------------------------------


def test_customer_cannot_add_internal_note(make: Factory) -> None:
    ticket = make.ticket()
    with pytest.raises(TicketError, match="internal notes"):
        service.reply(ticket, author=ticket.customer, body="secret", public=False)


def test_other_customer_cannot_reply(make: Factory) -> None:
    ticket = make.ticket()
    with pytest.raises(TicketError):
        service.reply(ticket, author=make.customer(), body="me too")


def test_customer_reply_reopens_resolved_ticket(make: Factory) -> None:
    ticket = make.ticket()
    service.resolve_by_customer(ticket, customer=ticket.customer)
    service.reply(ticket, author=ticket.customer, body="Still broken")
    assert ticket.status == Status.OPEN
    assert ticket.resolved_at is None
    assert kinds(ticket)[-2:] == [EventKind.REPLY, EventKind.REOPENED]


def test_customer_reply_moves_pending_to_open(make: Factory) -> None:
    ticket = make.ticket()
    service.change_status(ticket, Status.PENDING, actor=make.agent())
    service.reply(ticket, author=ticket.customer, body="Here is the info")
    assert ticket.status == Status.OPEN


def test_reply_to_closed_ticket_raises_ticket_closed(make: Factory) -> None:
    ticket = make.ticket()
    set_status(ticket, Status.CLOSED)
    with pytest.raises(TicketClosed):
        service.reply(ticket, author=ticket.customer, body="hello again")


def test_reply_with_same_client_token_is_recorded_once(make: Factory) -> None:
    ticket = make.ticket()
    one = service.reply(ticket, author=ticket.customer, body="hi", client_token="r1")
    two = service.reply(ticket, author=ticket.customer, body="hi", client_token="r1")
    assert one.id == two.id
    assert kinds(ticket).count(EventKind.REPLY) == 1


def test_rejected_reply_discards_its_files(make: Factory) -> None:
    ticket = make.ticket()
    stored = attachments.store("log.txt", io.BytesIO(b"data"))
    with pytest.raises(TicketError):
        service.reply(ticket, author=ticket.customer, body="   ", files=[stored])
    assert not attachments.path_of(stored.storage_key).exists()


def test_follow_up_links_both_tickets(make: Factory) -> None:
    closed = make.ticket()
    set_status(closed, Status.CLOSED)
    follow_up = service.open_follow_up(closed, customer=closed.customer, body="It broke again")
    assert follow_up.parent_id == closed.id
    assert follow_up.subject.startswith(f"Follow-up to {closed.ref}")
    assert follow_up.category_id == closed.category_id
    linked = db.session.scalar(
        select(TicketEvent).where(
            TicketEvent.ticket_id == closed.id, TicketEvent.kind == EventKind.LINKED
        )
    )
    assert linked.data == {"follow_up": follow_up.ref}


def test_follow_up_subject_is_cut_to_the_limit(make: Factory) -> None:
    closed = make.ticket(subject="s" * service.SUBJECT_MAX)
    set_status(closed, Status.CLOSED)
    follow_up = service.open_follow_up(closed, customer=closed.customer, body="again")
    assert len(follow_up.subject) == service.SUBJECT_MAX


# --- status transitions ------------------------------------------------------------------

ALLOWED = [(a, b) for a, targets in TRANSITIONS.items() for b in sorted(targets)]
FORBIDDEN = [(a, b) for a in Status for b in Status if a != b and b not in TRANSITIONS[a]]


@pytest.mark.parametrize(("start", "to"), ALLOWED)
def test_allowed_transition(make: Factory, start: Status, to: Status) -> None:
    ticket = make.ticket()
    set_status(ticket, start)
    event = service.change_status(ticket, to, actor=make.agent())
    assert ticket.status == to
    assert event.data == {"from": start, "to": to}
    expected = EventKind.REOPENED if (start, to) == (Status.RESOLVED, Status.OPEN) else None
    assert event.kind == (expected or EventKind.STATUS_CHANGED)


@pytest.mark.parametrize(("start", "to"), FORBIDDEN)
def test_forbidden_transition(make: Factory, start: Status, to: Status) -> None:
    ticket = make.ticket()
    set_status(ticket, start)
    before = len(kinds(ticket))
    with pytest.raises(
        TicketError, match=f"{ticket.ref} can't go from {start.value.replace('_', ' ')} to "
    ):
        service.change_status(ticket, to, actor=make.agent())
    assert ticket.status == start
    assert len(kinds(ticket)) == before


def test_closed_is_final() -> None:
    assert TRANSITIONS[Status.CLOSED] == set()


def test_same_status_is_a_no_op(make: Factory) -> None:
    ticket = make.ticket()
    assert service.change_status(ticket, Status.NEW, actor=make.agent()) is None
    assert kinds(ticket) == [EventKind.CREATED]


def test_resolving_sets_and_reopening_clears_resolved_at(make: Factory, frozen: datetime) -> None:
    ticket = make.ticket()
    service.change_status(ticket, Status.RESOLVED, actor=make.agent())
    assert ticket.resolved_at == frozen
    service.reopen(ticket, actor=ticket.customer)
    assert ticket.resolved_at is None


def test_closing_sets_closed_at(make: Factory, frozen: datetime) -> None:
    ticket = make.ticket()
    agent = make.agent()
    service.change_status(ticket, Status.RESOLVED, actor=agent)
    service.change_status(ticket, Status.CLOSED, actor=agent)
    assert ticket.closed_at == frozen


def test_every_change_bumps_the_version(make: Factory) -> None:
    ticket = make.ticket()
    assert ticket.version == 1
    service.change_status(ticket, Status.OPEN, actor=make.agent())
    assert ticket.version == 2


# --- optimistic locking ------------------------------------------------------------------


def test_stale_expected_version_names_who_changed_it(make: Factory) -> None:
    ticket = make.ticket()
    agent = make.agent(name="Robin Agent")
    loaded_version = ticket.version
    service.change_status(ticket, Status.OPEN, actor=agent)
    with pytest.raises(StaleTicket, match=f"{ticket.ref} was just changed by Robin Agent"):
        service.change_status(
            ticket, Status.PENDING, actor=make.agent(), expected_version=loaded_version
        )
    assert ticket.status == Status.OPEN


def test_a_race_lost_at_commit_is_a_stale_ticket(make: Factory) -> None:
    """Another process updates the row between our read and our write: no 500, a StaleTicket."""
    ticket = make.ticket()
    agent = make.agent()
    with db.engine.begin() as other:  # a second connection, as another web worker would be
        other.execute(
            update(Ticket.__table__)
            .where(Ticket.__table__.c.id == ticket.id)
            .values(version=Ticket.__table__.c.version + 1)
        )
    with pytest.raises(StaleTicket, match="Reload"):
        service.change_status(ticket, Status.OPEN, actor=agent)
    db.session.refresh(ticket)
    assert ticket.status == Status.NEW
    assert EventKind.STATUS_CHANGED not in kinds(ticket)


def test_stale_ticket_message_says_reload(make: Factory) -> None:
    ticket = make.ticket()
    with pytest.raises(StaleTicket, match="Reload"):
        service.change_status(ticket, Status.OPEN, actor=make.agent(), expected_version=99)


def test_current_expected_version_is_accepted(make: Factory) -> None:
    ticket = make.ticket()
    service.change_status(ticket, Status.OPEN, actor=make.agent(), expected_version=ticket.version)
    assert ticket.status == Status.OPEN


def test_stale_ticket_is_a_ticket_error() -> None:
    assert issubclass(StaleTicket, TicketError)


# --- customer actions --------------------------------------------------------------------


def test_resolve_by_customer(make: Factory) -> None:
    ticket = make.ticket()
    event = service.resolve_by_customer(ticket, customer=ticket.customer)
    assert ticket.status == Status.RESOLVED
    assert event.actor_id == ticket.customer_id


def test_resolve_twice_is_harmless(make: Factory) -> None:
    ticket = make.ticket()
    service.resolve_by_customer(ticket, customer=ticket.customer)
    assert service.resolve_by_customer(ticket, customer=ticket.customer) is None
    assert kinds(ticket).count(EventKind.STATUS_CHANGED) == 1


def test_only_the_owner_may_resolve(make: Factory) -> None:
    ticket = make.ticket()
    with pytest.raises(TicketError):
        service.resolve_by_customer(ticket, customer=make.customer())
    assert ticket.status == Status.NEW


def test_reopen_resolved_ticket(make: Factory) -> None:
    ticket = make.ticket()
    service.resolve_by_customer(ticket, customer=ticket.customer)
    event = service.reopen(ticket, actor=ticket.customer, reason="Not fixed")
    assert ticket.status == Status.OPEN
    assert event.kind == EventKind.REOPENED
    assert event.body_text == "Not fixed"


def test_reopen_active_ticket_is_a_no_op(make: Factory) -> None:
    ticket = make.ticket()
    assert service.reopen(ticket, actor=ticket.customer) is None
    assert ticket.status == Status.NEW


def test_reopen_closed_ticket_raises(make: Factory) -> None:
    ticket = make.ticket()
    set_status(ticket, Status.CLOSED)
    with pytest.raises(TicketClosed):
        service.reopen(ticket, actor=ticket.customer)


def test_rating_needs_resolution(make: Factory) -> None:
    ticket = make.ticket()
    with pytest.raises(TicketError, match="once the ticket is resolved"):
        service.rate(ticket, customer=ticket.customer, score=5)


@pytest.mark.parametrize("score", [0, 6, -1, 10])
def test_rating_must_be_one_to_five(make: Factory, score: int) -> None:
    ticket = make.ticket()
    service.resolve_by_customer(ticket, customer=ticket.customer)
    with pytest.raises(TicketError, match="1 to 5"):
        service.rate(ticket, customer=ticket.customer, score=score)


def test_rating_can_be_changed(make: Factory) -> None:
    ticket = make.ticket()
    service.resolve_by_customer(ticket, customer=ticket.customer)
    service.rate(ticket, customer=ticket.customer, score=2, comment="slow")
    rating = service.rate(ticket, customer=ticket.customer, score=5, comment="  ")
    assert db.session.scalar(select(func.count(Rating.id))) == 1
    assert (rating.score, rating.comment) == (5, None)
    assert kinds(ticket).count(EventKind.RATED) == 2


def test_closed_ticket_can_be_rated(make: Factory) -> None:
    ticket = make.ticket()
    set_status(ticket, Status.CLOSED)
    assert service.rate(ticket, customer=ticket.customer, score=4).score == 4


def test_only_the_owner_may_rate(make: Factory) -> None:
    ticket = make.ticket()
    service.resolve_by_customer(ticket, customer=ticket.customer)
    with pytest.raises(TicketError):
        service.rate(ticket, customer=make.customer(), score=1)
