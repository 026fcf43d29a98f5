"""Merge as a bulk action on the queue: the selected tickets into one of them (the oldest
by default), through the merge service, with a result for each ticket."""

from __future__ import annotations

from sqlalchemy import select

from support.extensions import db
from support.models import EventKind, Priority, Status, Ticket, TicketEvent
from support.tickets import service
from tests.board.conftest import HX, words
from tests.queue.test_bulk_and_search_pages import fresh, pick


def merge(client, *tickets, into: str = "", extra=(), htmx: bool = True):
    data = {"action": "merge", "into": into, "ticket": [*pick(*tickets), *extra]}
    return client.post("/queue/bulk", data=data, headers=HX if htmx else {})


def merged_events(ticket: Ticket) -> list[TicketEvent]:
    query = select(TicketEvent).where(
        TicketEvent.ticket_id == ticket.id, TicketEvent.kind == EventKind.MERGED
    )
    return list(db.session.scalars(query))


def test_the_selected_tickets_merge_into_the_oldest_by_default(
    client, as_agent, make, customer
) -> None:
    oldest, second, third = (make.ticket(customer=customer, subject=f"Dup {n}") for n in range(3))
    response = merge(client, third, oldest, second)  # the order of the boxes does not matter
    assert response.status_code == 200
    text = words(response)
    assert f"Merge into {oldest.ref}: 2 changed, 1 already so" in text
    assert f"{oldest.ref} Kept: {oldest.ref} carries on" in text
    for duplicate in (second, third):
        duplicate = fresh(duplicate)
        assert duplicate.status == Status.CLOSED and duplicate.merged_into_id == oldest.id
    assert fresh(oldest).status != Status.CLOSED
    assert len(merged_events(oldest)) == 2


def test_merge_into_the_ticket_typed(client, as_agent, make, customer) -> None:
    first, keep = make.ticket(customer=customer), make.ticket(customer=customer)
    response = merge(client, first, keep, into=keep.ref.lower())
    assert f"Merge into {keep.ref}: 1 changed" in words(response)
    assert fresh(first).merged_into_id == keep.id


def test_another_customers_ticket_is_refused_with_the_reason(
    client, as_agent, make, customer
) -> None:
    keep, same = make.ticket(customer=customer), make.ticket(customer=customer)
    stranger = make.ticket(customer=make.customer(name="Olive Other"), subject="Not theirs")
    text = words(merge(client, keep, same, stranger))
    assert f"Merge into {keep.ref}: 1 changed, 1 already so, 1 not changed" in text
    assert (
        f"{stranger.ref} Not theirs — {stranger.ref} and {keep.ref} are from different customers"
        in text
    )
    assert fresh(stranger).status != Status.CLOSED and fresh(same).merged_into_id == keep.id


def test_a_ticket_changed_meanwhile_is_reported_not_merged(
    client, as_agent, make, customer, colleague
) -> None:
    keep, stale = make.ticket(customer=customer), make.ticket(customer=customer, subject="Stale")
    seen = pick(keep, stale)
    service.update_fields(stale, actor=colleague, priority=Priority.LOW)
    response = client.post("/queue/bulk", data={"action": "merge", "ticket": seen}, headers=HX)
    text = words(response)
    assert f"{stale.ref} Stale — Not changed: {stale.ref} was just changed by Sam Senior" in text
    assert fresh(stale).merged_into_id is None and fresh(stale).status != Status.CLOSED


def test_a_second_submit_changes_nothing(client, as_agent, make, customer) -> None:
    keep, dup = make.ticket(customer=customer), make.ticket(customer=customer)
    form = {"action": "merge", "ticket": pick(keep, dup)}
    client.post("/queue/bulk", data=form)
    again = client.post("/queue/bulk", data=form)
    assert again.status_code == 200 and "0 changed, 2 already so" in words(again)
    assert len(merged_events(keep)) == 1


def test_bad_input_is_a_422_and_nothing_merged(client, as_agent, make, customer) -> None:
    keep, dup = make.ticket(customer=customer), make.ticket(customer=customer)
    other = make.ticket(customer=customer)
    alone = merge(client, keep)
    assert alone.status_code == 422 and "Select at least two tickets to merge." in words(alone)
    outside = merge(client, keep, dup, into=other.ref)
    assert outside.status_code == 422
    assert "is not one of the selected tickets" in words(outside)
    for typed in ("<b>x</b>", "²", "9" * 30):
        assert merge(client, keep, dup, into=typed).status_code == 422
    assert merge(client, keep, dup, into="x" * 41).status_code == 422
    assert not merged_events(keep) and fresh(dup).status != Status.CLOSED


def test_a_plain_form_works_too(client, as_agent, make, customer) -> None:
    keep, dup = make.ticket(customer=customer), make.ticket(customer=customer)
    response = merge(client, keep, dup, htmx=False)
    assert response.status_code == 200 and "<html" in response.get_data(as_text=True)
    assert fresh(dup).merged_into_id == keep.id


def test_the_bar_offers_merge_with_the_pages_references(client, as_agent, make) -> None:
    ticket = make.ticket(subject="Listed")
    html = client.get("/queue").get_data(as_text=True)
    assert 'name="action" value="merge"' in html and 'name="into"' in html
    assert f'<option value="{ticket.ref}">Listed</option>' in html


def test_customers_cannot_bulk_merge(client, auth, make, customer) -> None:
    keep, dup = make.ticket(customer=customer), make.ticket(customer=customer)
    auth.login(customer)
    assert merge(client, keep, dup).status_code == 403
    assert fresh(dup).merged_into_id is None
