"""Merging joins timelines: the ticket that stays shows the duplicate's events too,
marked "from SUP-…", in order, to agents (all of them) and to the customer (public
ones, and only of their own tickets), in the same number of queries."""

from __future__ import annotations

import io
import re

import pytest

from support.extensions import db
from support.models import Status
from support.tickets import attachments, service
from tests.board.conftest import HX, said, text_of, words


def events_in(html: str) -> list[str]:
    """Each event of a timeline as text: what happened, its mark, its body."""
    timeline = html.split('class="timeline"', 1)[1].split("</ol>", 1)[0]
    items = re.findall(r'<li class="event .*?</li>', timeline, flags=re.S)
    return [" ".join(re.sub(r"<[^>]+>", " ", item).split()) for item in items]


@pytest.fixture
def merged(make, customer, agent):
    """A duplicate with a reply and a note, merged into a ticket with a reply of its own."""
    keep = make.ticket(customer=customer, subject="Charged twice", description="Two charges.")
    duplicate = make.ticket(customer=customer, subject="Double charge", description="Twice!")
    service.reply(duplicate, author=agent, body="Checking the card payments.")
    service.reply(keep, author=agent, body="We see both charges.")
    service.reply(duplicate, author=agent, body="Bank ref 7781", public=False)
    service.reply(duplicate, author=customer, body="Any news on this one?")
    service.merge(duplicate, into=keep, actor=agent)
    return keep, duplicate


def test_agents_see_every_event_of_the_duplicate_in_order(client, as_agent, merged) -> None:
    keep, duplicate = merged
    shown = events_in(said(client.get(f"/board/tickets/{keep.ref}")))
    mark = f"from {duplicate.ref}"
    expected = [
        ("opened this request", False, "Two charges."),
        ("opened this request", True, "Twice!"),
        ("replied", True, "Checking the card payments."),
        ("replied", False, "We see both charges."),
        ("added an internal note", True, "Bank ref 7781"),
        ("replied", True, "Any news on this one?"),
        (f"merged this request into {keep.ref}", True, "Follow"),
        (f"merged {duplicate.ref} into this request", False, mark),
    ]
    # Leave out triage on filing and the status changes the first replies made.
    shown = [e for e in shown if "changed the status" not in e and not e.startswith("Support Desk")]
    assert len(shown) == len(expected), shown
    for event, (what, marked, text) in zip(shown, expected, strict=True):
        assert what in event and text in event, event
        assert event.count(mark) == (1 if marked else 0) + (mark in text), event
    # The mark links to the duplicate's own panel.
    html = text_of(client.get(f"/board/tickets/{keep.ref}", headers=HX))
    assert f'from <a href="/board/tickets/{duplicate.ref}">{duplicate.ref}</a>' in html


def test_the_customer_sees_the_public_events_of_their_duplicate(
    client, auth, merged, customer
) -> None:
    keep, duplicate = merged
    auth.login(customer)
    page = said(client.get(f"/tickets/{keep.ref}"))
    shown = events_in(page)
    assert any("Checking the card payments." in e and f"from {duplicate.ref}" in e for e in shown)
    assert any("You replied" in e and "Any news on this one?" in e for e in shown)
    assert "Bank ref 7781" not in page  # the team's note stays internal
    assert f'from <a href="/tickets/{duplicate.ref}">{duplicate.ref}</a>' in page
    assert f"merged {duplicate.ref} into this request" in words(client.get(f"/tickets/{keep.ref}"))


def test_a_file_on_the_duplicate_downloads_from_the_merged_timeline(
    client, auth, make, customer, agent
) -> None:
    keep = make.ticket(customer=customer)
    duplicate = make.ticket(customer=customer)
    stored = attachments.store("receipt.txt", io.BytesIO(b"paid twice"))
    service.reply(duplicate, author=customer, body="My receipt", files=[stored])
    service.merge(duplicate, into=keep, actor=agent)
    auth.login(customer)
    page = text_of(client.get(f"/tickets/{keep.ref}"))
    [link] = re.findall(r'href="([^"]+/receipt\.txt)"', page)
    assert link.startswith(f"/tickets/{duplicate.ref}/")  # the file belongs to the duplicate
    response = client.get(link)
    assert response.status_code == 200 and response.data == b"paid twice"
    response.close()


def test_merges_of_merges_join_too(client, as_agent, make, customer, agent) -> None:
    first = make.ticket(customer=customer, subject="First", description="First words.")
    second = make.ticket(customer=customer, subject="Second", description="Second words.")
    third = make.ticket(customer=customer, subject="Third", description="Third words.")
    service.merge(first, into=second, actor=agent)
    service.merge(second, into=third, actor=agent)
    shown = events_in(said(client.get(f"/board/tickets/{third.ref}")))
    assert any("First words." in e and f"from {first.ref}" in e for e in shown)
    assert any("Second words." in e and f"from {second.ref}" in e for e in shown)


def test_another_customers_merged_ticket_stays_private(client, auth, make, customer, agent) -> None:
    """The service refuses such merges; should one exist anyway (old data, a manual fix),
    the customer still sees only their own tickets' events."""
    keep = make.ticket(customer=customer, subject="Mine")
    theirs = make.ticket(subject="Someone else's", description="Private words of another.")
    with pytest.raises(service.TicketError, match="different customers"):
        service.merge(theirs, into=keep, actor=agent)
    theirs.merged_into_id, theirs.status = keep.id, Status.CLOSED  # bypassing the service
    db.session.commit()
    auth.login(customer)
    assert "Private words of another." not in said(client.get(f"/tickets/{keep.ref}"))
    auth.logout()
    auth.login(agent)
    assert "Private words of another." in said(client.get(f"/board/tickets/{keep.ref}"))


@pytest.mark.parametrize("who", ["agent", "customer"])
def test_queries_stay_the_same_with_merged_duplicates(
    client, auth, make, customer, agent, count_queries, who
) -> None:
    plain = make.ticket(customer=customer)
    service.reply(plain, author=agent, body="Hello")
    keep = make.ticket(customer=customer)
    service.reply(keep, author=agent, body="Hello")
    for n in range(3):
        duplicate = make.ticket(customer=customer, subject=f"Duplicate {n}")
        service.reply(duplicate, author=agent, body=f"Reply on duplicate {n}")
        stored = attachments.store("log.txt", io.BytesIO(b"trace"))
        service.reply(duplicate, author=customer, body=f"File {n}", files=[stored])
        service.merge(duplicate, into=keep, actor=agent)
    auth.login(agent if who == "agent" else customer)
    url = "/board/tickets/{}" if who == "agent" else "/tickets/{}"
    for ticket in (plain, keep):  # warm up: each page once (notifications read, caches)
        client.get(url.format(ticket.ref))
    with count_queries() as without:
        client.get(url.format(plain.ref))
    with count_queries() as joined:
        page = said(client.get(url.format(keep.ref)))
    assert "Reply on duplicate 2" in page and "log.txt" in page
    assert joined.count == without.count
