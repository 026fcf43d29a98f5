"""Similar past tickets in the panel: found by the database's full-text search, agents
only, with how each was resolved, "Insert" into the composer and "Link" on both
timelines."""

from __future__ import annotations

import html as html_lib
import re

import pytest
from sqlalchemy import delete, select

from support.extensions import db
from support.models import EventKind, Status, TicketEvent
from support.tickets import service, similar
from support.tickets.service import Then
from tests.board.conftest import HX, said, text_of, words

RESOLUTION = "Refunds to a card take five working days; we reissued yours today."


@pytest.fixture
def current(make, customer):
    return make.ticket(
        customer=customer,
        subject="Refund for a cancelled order never arrived",
        description="The seller cancelled my order and promised a refund to my card.",
    )


def resolved(make, agent, *, subject, description, answer=RESOLUTION, customer=None):
    ticket = make.ticket(customer=customer, subject=subject, description=description)
    service.respond(ticket, agent=agent, body=answer, public=True, then=Then(Status.RESOLVED))
    return ticket


def similar_html(client, ticket) -> str:
    """The section's fragment, entities decoded."""
    response = client.get(f"/board/tickets/{ticket.ref}/similar", headers=HX)
    assert response.status_code == 200
    return html_lib.unescape(text_of(response))


def refs_listed(html: str) -> list[str]:
    return re.findall(r'<li class="similar-item" id="similar-([A-Z0-9-]+)"', html)


def linked_events(ticket) -> list[TicketEvent]:
    query = select(TicketEvent).where(
        TicketEvent.ticket_id == ticket.id, TicketEvent.kind == EventKind.LINKED
    )
    return list(db.session.scalars(query))


def test_telling_words_drop_stop_words_numbers_and_count_the_subject_more() -> None:
    found = similar.telling_words(
        "Refund for order #48213", "Hi, I was charged twice and I want my refund please. Thanks"
    )
    assert found[0] == "refund"  # in both, and in the subject
    assert "order" in found and "charged" in found and "twice" in found
    assert not {"for", "hi", "was", "want", "please", "thanks", "48213"} & set(found)
    assert (
        len(similar.telling_words("a " * 3, "word " * 2 + " ".join(f"w{n}xyz" for n in range(20))))
        == 6
    )


def test_the_panel_loads_the_section_when_it_is_seen(client, as_agent, current) -> None:
    html = text_of(client.get(f"/board/tickets/{current.ref}", headers=HX))
    assert f'hx-get="/board/tickets/{current.ref}/similar"' in html
    assert 'hx-trigger="intersect once"' in html
    # Without script: a link to the panel page with the section in it.
    assert f'href="/board/tickets/{current.ref}/similar#similar-tickets"' in html


def test_resolved_tickets_with_the_same_words_are_listed_closest_first(
    client, as_agent, make, agent, current
) -> None:
    close = resolved(
        make, agent, subject="Refund for cancelled order", description="Cancelled order refund card"
    )
    farther = resolved(make, agent, subject="Where is my refund", description="Nothing came.")
    unrelated = resolved(
        make, agent, subject="Cannot sign in", description="Password reset loop.", answer="Fixed."
    )
    still_open = make.ticket(subject="Refund for a cancelled order", description="refund card")
    html = similar_html(client, current)
    listed = refs_listed(html)
    assert listed[:2] == [close.ref, farther.ref]
    assert current.ref not in listed and still_open.ref not in listed
    assert unrelated.ref not in listed
    assert "Refunds to a card take five working days" in html
    assert "Resolved" in html


def test_merged_and_closed_tickets(client, as_agent, make, agent, customer, current) -> None:
    kept = resolved(make, agent, subject="Refund order", description="refund", customer=customer)
    closed = resolved(make, agent, subject="Refund cancelled", description="card refund")
    service.change_status(closed, Status.CLOSED, actor=agent)
    duplicate = make.ticket(customer=customer, subject="Refund order again", description="refund")
    service.merge(duplicate, into=kept, actor=agent)  # closed by the merge: not a resolution
    listed = refs_listed(similar_html(client, current))
    assert closed.ref in listed and kept.ref in listed
    assert duplicate.ref not in listed


def test_at_most_five_and_a_constant_number_of_queries(
    client, as_agent, make, agent, current, count_queries
) -> None:
    resolved(make, agent, subject="Refund cancelled order", description="card")
    with count_queries() as one:
        similar_html(client, current)
    for n in range(6):
        resolved(make, agent, subject=f"Refund cancelled order {n}", description="card refund")
    with count_queries() as many:
        html = similar_html(client, current)
    assert len(refs_listed(html)) == similar.LIMIT
    assert many.count == one.count


def test_the_empty_state_says_why(client, as_agent, make, current) -> None:
    html = similar_html(client, current)
    assert "No resolved or closed ticket mentions" in html and "“refund”" in html
    quiet = make.ticket(subject="Hi", description="Please help me, thanks.")
    assert "no words to compare" in similar_html(client, quiet)


def test_a_ticket_resolved_without_a_reply_says_so(client, as_agent, make, agent, current) -> None:
    silent = make.ticket(subject="Refund cancelled order", description="card")
    service.respond(silent, agent=agent, body="Checking.", public=False)
    service.change_status(
        silent, Status.RESOLVED, actor=agent, note="Refund sent by bank transfer."
    )
    html = similar_html(client, current)
    assert "Refund sent by bank transfer." in html  # the resolution note counts
    assert "Checking." not in html  # an internal note never does


def test_insert_puts_the_resolution_after_what_was_typed(
    client, as_agent, make, agent, current
) -> None:
    source = resolved(make, agent, subject="Refund cancelled order", description="card")
    response = client.post(
        f"/board/tickets/{current.ref}/similar/{source.ref}/insert",
        data={"body": "Hello Casey,", "mode": "reply", "version": current.version},
        headers=HX,
    )
    assert response.status_code == 200
    box = re.search(r"<textarea[^>]*name=\"body\"[^>]*>(.*?)</textarea>", said(response), re.S)
    assert box.group(1).strip() == f"Hello Casey,\n\n{RESOLUTION}"
    # Nothing was sent.
    assert not [e for e in current_events(current) if e.kind == EventKind.REPLY]


def current_events(ticket) -> list[TicketEvent]:
    return list(db.session.scalars(select(TicketEvent).where(TicketEvent.ticket_id == ticket.id)))


def test_insert_without_script_renders_the_panel_page(client, as_agent, make, agent, current):
    source = resolved(make, agent, subject="Refund cancelled order", description="card")
    response = client.post(
        f"/board/tickets/{current.ref}/similar/{source.ref}/insert", data={"mode": "reply"}
    )
    assert response.status_code == 200 and "<html" in text_of(response)
    assert RESOLUTION in said(response)


def test_insert_of_a_ticket_without_a_reply_is_refused(client, as_agent, make, current) -> None:
    other = make.ticket(subject="Refund", description="refund")
    response = client.post(
        f"/board/tickets/{current.ref}/similar/{other.ref}/insert", data={"body": "x"}, headers=HX
    )
    assert response.status_code == 422
    assert f"{other.ref} has no reply from the team to insert." in said(response)


def test_the_page_without_script_shows_the_section(client, as_agent, make, agent, current):
    source = resolved(make, agent, subject="Refund cancelled order", description="card")
    html = text_of(client.get(f"/board/tickets/{current.ref}/similar"))
    assert "<html" in html and 'id="similar-tickets"' in html and source.ref in html
    # Insert posts the composer itself, so what was typed goes along.
    assert 'form="composer"' in html
    assert f'formaction="/board/tickets/{current.ref}/similar/{source.ref}/insert"' in html


def test_link_records_an_internal_event_on_both_timelines(
    client, as_agent, make, agent, current, customer
) -> None:
    source = resolved(make, agent, subject="Refund cancelled order", description="card")
    version = current.version
    response = client.post(f"/board/tickets/{current.ref}/similar/{source.ref}/link", headers=HX)
    assert response.status_code == 200
    assert f"Linked {source.ref} to {current.ref}." in said(response)
    assert response.headers["HX-Trigger"] == "board-changed"
    [here], [there] = linked_events(current), linked_events(source)
    assert here.data == {"related": source.ref} and there.data == {"related": current.ref}
    assert not here.is_public and not there.is_public and here.actor_id == agent.id
    assert "linked the related request" in words(response)
    db.session.refresh(current)
    db.session.refresh(source)
    assert current.version == version and source.status == Status.RESOLVED
    # The section now says "Linked" instead of offering the button again.
    assert "similar-linked" in similar_html(client, current)
    again = client.post(f"/board/tickets/{current.ref}/similar/{source.ref}/link", headers=HX)
    assert again.status_code == 422 and "already linked" in said(again)
    assert len(linked_events(current)) == 1


def test_the_customer_never_sees_the_link(client, auth, make, agent, current, customer) -> None:
    other_customer = make.customer(name="Olive Other")
    source = resolved(
        make, agent, subject="Refund cancelled order", description="card", customer=other_customer
    )
    service.link(current, to=source, actor=agent)
    auth.login(customer)
    page = said(client.get(f"/tickets/{current.ref}"))
    assert source.ref not in page and "related request" not in page


def test_link_keeps_the_draft_in_the_composer(client, as_agent, make, agent, current) -> None:
    source = resolved(make, agent, subject="Refund cancelled order", description="card")
    for headers in (HX, {}):  # with htmx, and a plain form (the panel page, not a redirect)
        db.session.execute(delete(TicketEvent).where(TicketEvent.kind == EventKind.LINKED))
        db.session.commit()
        response = client.post(
            f"/board/tickets/{current.ref}/similar/{source.ref}/link",
            data={"body": "Half-written reply", "mode": "reply"},
            headers=headers,
        )
        assert response.status_code == 200
        assert "Half-written reply</textarea>" in text_of(response)
        assert f"Linked {source.ref} to {current.ref}." in said(response)
        assert len(linked_events(current)) == 1


def test_a_plain_link_form_redirects_to_the_panel(client, as_agent, make, agent, current) -> None:
    source = resolved(make, agent, subject="Refund cancelled order", description="card")
    response = client.post(f"/board/tickets/{current.ref}/similar/{source.ref}/link")
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/board/tickets/{current.ref}")


@pytest.mark.parametrize(
    "method,path",
    [
        ("get", "/board/tickets/{ref}/similar"),
        ("post", "/board/tickets/{ref}/similar/{other}/insert"),
        ("post", "/board/tickets/{ref}/similar/{other}/link"),
        ("get", "/board/tags/options?tags=ref"),
    ],
)
def test_customers_get_403_and_visitors_the_login(
    client, auth, make, agent, customer, current, method, path
) -> None:
    source = resolved(make, agent, subject="Refund cancelled order", description="card")
    url = path.format(ref=current.ref, other=source.ref)
    anonymous = getattr(client, method)(url)
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]
    auth.login(customer)  # even the owner of the ticket
    assert getattr(client, method)(url).status_code == 403
    assert not linked_events(current)


@pytest.mark.parametrize(
    "ref,other",
    [
        ("SUP-NOPE00", None),
        (None, "SUP-NOPE00"),
        ("99999999999999999999", None),
        (None, "²"),
    ],
)
def test_unknown_references_are_404(client, as_agent, make, agent, current, ref, other) -> None:
    source = resolved(make, agent, subject="Refund cancelled order", description="card")
    ref, other = ref or current.ref, other or source.ref
    for path in ("insert", "link"):
        response = client.post(f"/board/tickets/{ref}/similar/{other}/{path}", headers=HX)
        assert response.status_code == 404
    assert not linked_events(current) and not linked_events(source)


def test_a_ticket_cannot_be_linked_to_itself(client, as_agent, current) -> None:
    response = client.post(f"/board/tickets/{current.ref}/similar/{current.ref}/link", headers=HX)
    assert response.status_code == 422 and "can't be linked to itself" in said(response)


def test_link_needs_the_csrf_token(app, client, as_agent, make, agent, current) -> None:
    source = resolved(make, agent, subject="Refund cancelled order", description="card")
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        response = client.post(f"/board/tickets/{current.ref}/similar/{source.ref}/link")
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
    assert response.status_code == 400 and not linked_events(current)


def test_search_text_is_never_syntax(client, as_agent, make) -> None:
    odd = make.ticket(subject='"refund" -card* (OR) NEAR/3 AND', description='col:umn " \\ ^')
    assert similar_html(client, odd)
