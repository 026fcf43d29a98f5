"""The ticket panel: each action writes its timeline event, and the customer sees only
the public ones on /tickets/<ref>."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from support.board import forms, panel
from support.extensions import db
from support.models import EventKind, Priority, Status, TicketEvent
from support.tickets import service
from tests.board.conftest import HX, said, text_of, words


def post(client, ticket, action: str, data: dict, *, htmx: bool = True, version=None):
    form = {"version": version or ticket.version, **data}
    return client.post(
        f"/board/tickets/{ticket.ref}/{action}", data=form, headers=HX if htmx else {}
    )


def kinds(ticket) -> list[EventKind]:
    query = select(TicketEvent.kind).where(TicketEvent.ticket_id == ticket.id)
    return list(db.session.scalars(query.order_by(TicketEvent.id)))


def customer_page(client, auth, ticket) -> str:
    auth.logout()
    auth.login(ticket.customer)
    return words(client.get(f"/tickets/{ticket.ref}"))


def test_panel_is_a_fragment_for_htmx_and_a_page_otherwise(client, as_agent, ticket) -> None:
    fragment = text_of(client.get(f"/board/tickets/{ticket.ref}", headers=HX))
    assert fragment.lstrip().startswith('<section id="ticket-panel"') and "<html" not in fragment
    page = text_of(client.get(f"/board/tickets/{ticket.ref}"))
    assert "<html" in page and 'id="ticket-panel"' in page and "← Board" in page
    assert 'name="version" value="1"' in page


def test_the_panel_shows_internal_notes(client, as_agent, ticket, agent) -> None:
    service.reply(ticket, author=agent, body="Refund id 998", public=False)
    page = said(client.get(f"/board/tickets/{ticket.ref}"))
    assert "Refund id 998" in page and "Internal" in page


def test_public_reply(client, as_agent, auth, ticket) -> None:
    response = post(client, ticket, "reply", {"body": "Refunding now.", "action": "reply"})
    assert response.status_code == 200
    assert response.headers["HX-Trigger"] == "board-changed"
    assert "Reply sent to the customer." in said(response)
    assert kinds(ticket)[-2:] == [EventKind.REPLY, EventKind.STATUS_CHANGED]  # new → open
    assert "Refunding now." in customer_page(client, auth, ticket)


def test_internal_note_stays_internal(client, as_agent, auth, ticket) -> None:
    post(client, ticket, "reply", {"body": "Card issuer is slow.", "action": "note"})
    assert kinds(ticket)[-1] == EventKind.NOTE
    assert "Card issuer is slow." not in customer_page(client, auth, ticket)


def test_workaround_is_public(client, as_agent, auth, ticket) -> None:
    post(
        client, ticket, "reply", {"body": "Pay by bank transfer meanwhile.", "action": "workaround"}
    )
    assert EventKind.WORKAROUND in kinds(ticket)
    page = customer_page(client, auth, ticket)
    assert "suggested a workaround" in page and "Pay by bank transfer meanwhile." in page


def test_an_empty_reply_is_422_and_unknown_actions_400(client, as_agent, ticket) -> None:
    response = post(client, ticket, "reply", {"body": "  ", "action": "reply"})
    assert response.status_code == 422 and "Write a message first." in said(response)
    assert post(client, ticket, "reply", {"body": "x", "action": "shout"}).status_code == 400


def test_html_in_a_note_is_shown_as_text(client, as_agent, ticket) -> None:
    post(client, ticket, "reply", {"body": "<script>alert(1)</script>", "action": "note"})
    html = text_of(client.get(f"/board/tickets/{ticket.ref}"))
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_plain_form_reply_redirects_to_the_panel_page(client, as_agent, ticket) -> None:
    response = post(client, ticket, "reply", {"body": "Hello", "action": "reply"}, htmx=False)
    assert response.status_code == 303
    assert response.location == f"/board/tickets/{ticket.ref}"
    assert "Reply sent to the customer." in said(client.get(response.location))


def test_a_hidden_category_stays_on_its_tickets_when_other_details_change(
    client, as_agent, ticket
) -> None:
    ticket.category.is_active = False  # an admin hid it from customers since
    db.session.commit()
    slug = ticket.category.slug
    panel = client.get(f"/board/tickets/{ticket.ref}").text
    assert "(hidden from customers)" in panel
    response = post(client, ticket, "fields", {"priority": "high", "category": slug, "team": ""})
    assert response.status_code == 200
    db.session.refresh(ticket)
    assert (ticket.priority, ticket.category.slug) == (Priority.HIGH, slug)


def test_inline_field_edits_are_internal(client, as_agent, auth, ticket, teams) -> None:
    response = post(
        client,
        ticket,
        "fields",
        {"priority": "urgent", "category": "shipping", "team": teams[1].id},
    )
    assert response.status_code == 200
    db.session.refresh(ticket)
    assert (ticket.priority, ticket.category.slug, ticket.team_id) == (
        Priority.URGENT,
        "shipping",
        teams[1].id,
    )
    assert kinds(ticket)[-3:] == [
        EventKind.PRIORITY_CHANGED,
        EventKind.CATEGORY_CHANGED,
        EventKind.TEAM_CHANGED,
    ]
    panel = words(client.get(f"/board/tickets/{ticket.ref}"))
    assert "changed the priority to" in panel and "handed the request to Payments & Trust" in panel
    page = customer_page(client, auth, ticket)
    assert "changed the priority" not in page and "Payments & Trust" not in page


def test_assign_and_assign_to_me(client, as_agent, auth, ticket, colleague) -> None:
    post(client, ticket, "assign", {"assignee": colleague.id})
    db.session.refresh(ticket)
    assert ticket.assignee_id == colleague.id
    response = post(client, ticket, "assign", {"assignee": as_agent.id})
    assert "Assigned to Alex Agent." in said(response)
    assert kinds(ticket).count(EventKind.ASSIGNED) == 2
    assert "assigned the request to" not in customer_page(client, auth, ticket)


def test_status_with_a_resolution_note(client, as_agent, auth, ticket) -> None:
    response = post(client, ticket, "status", {"status": "resolved", "note": "Refund issued."})
    assert response.status_code == 200
    db.session.refresh(ticket)
    assert ticket.status == Status.RESOLVED
    page = customer_page(client, auth, ticket)
    assert "Refund issued." in page


def test_status_needs_an_answer_before_resolving(client, as_agent, ticket) -> None:
    response = post(client, ticket, "status", {"status": "resolved"})
    assert response.status_code == 422
    assert "add a resolution note first" in said(response)


def test_escalate_with_a_reason(client, as_agent, auth, ticket) -> None:
    response = post(client, ticket, "escalate", {"reason": "Needs a refund approval."})
    assert response.status_code == 200 and "Escalated to tier 2." in said(response)
    db.session.refresh(ticket)
    assert (ticket.status, ticket.tier) == (Status.ESCALATED, 2)
    page = customer_page(client, auth, ticket)
    assert "asked for more help with the request" in page and "tier 2" not in page
    assert "Needs a refund approval." not in page  # the reason is for the team


def test_escalate_without_a_reason_is_422(client, as_agent, ticket) -> None:
    response = post(client, ticket, "escalate", {"reason": ""})
    assert response.status_code == 422 and "Say why the ticket needs escalating." in said(response)


def test_merge_by_reference(client, as_agent, auth, make, customer) -> None:
    keep = make.ticket(customer=customer, subject="Charged twice")
    duplicate = make.ticket(customer=customer, subject="Double charge", description="Twice!")
    response = post(client, duplicate, "merge", {"into": keep.ref.lower()})
    assert response.status_code == 200
    assert f"{duplicate.ref} was merged into {keep.ref}." in said(response)
    assert 'id="ticket-panel"' in text_of(response) and keep.subject in said(response)
    db.session.refresh(duplicate)
    assert duplicate.status == Status.CLOSED and duplicate.merged_into_id == keep.id
    assert kinds(keep)[-1] == EventKind.MERGED
    # The customer reads about it on both tickets.
    assert f"merged this request into {keep.ref}" in customer_page(client, auth, duplicate)
    page = words(client.get(f"/tickets/{keep.ref}"))
    assert f"merged {duplicate.ref} into this request" in page and "Twice!" in page


def test_merge_refusals_are_422(client, as_agent, make, ticket) -> None:
    response = post(client, ticket, "merge", {"into": "SUP-ZZZZZZ"})
    assert response.status_code == 422 and "There is no ticket SUP-ZZZZZZ." in said(response)
    response = post(client, ticket, "merge", {"into": ticket.ref})
    assert response.status_code == 422 and "can't be merged into itself" in said(response)
    other = make.ticket()
    response = post(client, ticket, "merge", {"into": other.ref})
    assert response.status_code == 422 and "different customers" in said(response)


def test_stale_panel_write_is_409_with_the_name_and_keeps_the_text(
    client, as_agent, ticket, colleague
) -> None:
    old = ticket.version
    service.update_fields(ticket, actor=colleague, priority=Priority.HIGH)
    response = post(client, ticket, "escalate", {"reason": "My careful reason"}, version=old)
    assert response.status_code == 409
    page = said(response)
    assert f"{ticket.ref} was just changed by Sam Senior" in page and "Reload" in page
    assert "My careful reason" in page  # nothing typed is lost
    assert f'name="version" value="{ticket.version}"' in page  # the fresh version, to retry
    db.session.refresh(ticket)
    assert ticket.status == Status.NEW


def test_stale_plain_form_is_a_409_page(client, as_agent, ticket, colleague) -> None:
    old = ticket.version
    service.assign(ticket, actor=colleague, assignee=colleague)
    response = post(
        client,
        ticket,
        "fields",
        {"priority": "low", "category": "", "team": ""},
        htmx=False,
        version=old,
    )
    assert response.status_code == 409 and "<html" in text_of(response)
    assert "was just changed by Sam Senior" in said(response)


def test_a_stale_details_form_shows_the_fresh_values(client, as_agent, ticket, colleague) -> None:
    old = ticket.version
    service.update_fields(ticket, actor=colleague, priority=Priority.URGENT)
    fields = {"priority": "normal", "category": "shipping", "team": ""}
    response = post(client, ticket, "fields", fields, version=old)
    assert response.status_code == 409
    # Sending the form again must not quietly put the old priority back.
    assert '<option selected value="urgent">' in text_of(response)
    assert '<option selected value="payments">' in text_of(response)


def test_the_panel_suggests_articles_to_link_into_the_reply(client, as_agent, make) -> None:
    ticket = make.ticket(
        subject="How do I get a refund for a returned item?",
        description="I sent the item back to the seller. How long does the refund take?",
    )
    # The drawer asks for them once it is open; the full page has them inline.
    drawer = said(client.get(f"/board/tickets/{ticket.ref}", headers=HX))
    assert f'hx-get="/board/tickets/{ticket.ref}/articles"' in drawer
    for page in (
        said(client.get(f"/board/tickets/{ticket.ref}/articles", headers=HX)),
        said(client.get(f"/board/tickets/{ticket.ref}")),
    ):
        assert 'class="kb-suggestions"' in page and "/kb/request-a-refund" in page
        assert 'data-insert-into="#composer textarea"' in page
    other = make.ticket(subject="Zzz", description="Qqq xxy")
    assert client.get(f"/board/tickets/{other.ref}/articles", headers=HX).data == b""


def test_a_note_without_a_status_change_goes_back_to_the_form(client, as_agent, ticket) -> None:
    response = post(client, ticket, "status", {"status": "new", "note": "Hello there"})
    assert response.status_code == 422
    assert "send this from the reply box" in said(response) and "Hello there" in said(response)
    assert kinds(ticket) == [EventKind.CREATED]


def test_panel_context_takes_posted_forms_by_name(app, ticket, agent) -> None:
    """A posted form replaces the fresh one of that name; a name the panel lacks is a bug."""
    with app.test_request_context():
        typed = forms.AgentReplyForm(formdata=None, data={"body": "Half a reply"})
        context = panel.context(
            ticket, agent, is_page=False, bound_forms={"reply_form": typed}, notice="Saved."
        )
        assert context["reply_form"] is typed
        assert isinstance(context["fields_form"], forms.FieldsForm)
        assert (context["notice"], context["is_page"]) == ("Saved.", False)
        with pytest.raises(ValueError, match="reply_from"):
            panel.context(ticket, agent, is_page=False, bound_forms={"reply_from": typed})
