"""The panel's composer: Reply and Internal note as two modes, attachments, "send and set
to …", and macros (a canned response that also changes the ticket), all or nothing."""

from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy import func, select

from support.extensions import db
from support.models import (
    Attachment,
    CannedResponse,
    EventKind,
    Notification,
    OutboxMessage,
    Priority,
    Status,
    TicketEvent,
)
from support.tickets import attachments, service
from tests.board.conftest import HX, said, words
from tests.web.portal import post_multipart

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 56  # 64 bytes


def send(client, ticket, fields: dict, files=(), headers=HX):
    data = {"version": str(ticket.version), "body": "Hello", "mode": "reply", "action": "send"}
    return post_multipart(
        client, f"/board/tickets/{ticket.ref}/reply", {**data, **fields}, files, headers=headers
    )


def events(ticket, kind: EventKind | None = None) -> list[TicketEvent]:
    query = select(TicketEvent).where(TicketEvent.ticket_id == ticket.id)
    if kind is not None:
        query = query.where(TicketEvent.kind == kind)
    return list(db.session.scalars(query.order_by(TicketEvent.id)))


def stored_files(app) -> list[Path]:
    return [p for p in Path(app.config["UPLOAD_FOLDER"]).rglob("*") if p.is_file()]


def checked_mode(page: str) -> str | None:
    found = re.search(r'<input checked id="mode-\d" name="mode"[^>]* value="(\w+)">', page)
    return found and found.group(1)


def customer_sees(client, auth, ticket) -> str:
    auth.logout()
    auth.login(ticket.customer)
    return words(client.get(f"/tickets/{ticket.ref}")) + words(client.get("/notifications"))


def test_the_composer_shows_two_modes(client, as_agent, ticket) -> None:
    page = said(client.get(f"/board/tickets/{ticket.ref}"))
    assert checked_mode(page) == "reply"
    assert "Reply to Casey" in page and "Internal note" in page
    assert "Only the team sees this note." in page
    assert 'enctype="multipart/form-data"' in page
    assert "js/composer.js" in page


def test_a_note_never_reaches_the_customer(client, as_agent, auth, ticket, app) -> None:
    emails_before = db.session.scalar(select(func.count()).select_from(OutboxMessage))
    response = send(client, ticket, {"mode": "note", "body": "Card issuer is slow."})
    assert response.status_code == 200 and "Internal note added." in said(response)
    note = events(ticket, EventKind.NOTE)[0]
    assert note.is_public is False
    customer = ticket.customer
    assert not db.session.scalar(
        select(func.count()).select_from(Notification).where(Notification.user_id == customer.id)
    )
    assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == emails_before
    assert "Card issuer is slow." not in customer_sees(client, auth, ticket)


def test_the_mode_is_required_and_kept_after_an_error(client, as_agent, ticket) -> None:
    response = send(client, ticket, {"mode": "", "body": "Which one?"})
    assert response.status_code == 422
    assert "Choose a reply to the customer or an internal note." in said(response)
    response = send(client, ticket, {"mode": "note", "body": ""})
    assert response.status_code == 422
    assert checked_mode(said(response)) == "note"
    assert events(ticket, EventKind.NOTE) == [] and events(ticket, EventKind.REPLY) == []


def test_a_reply_with_a_file_and_resolved(client, as_agent, auth, ticket, app) -> None:
    response = send(
        client,
        ticket,
        {"body": "Here is your receipt.", "action": "send_resolved"},
        [(PNG, "receipt.png")],
    )
    assert response.status_code == 200
    db.session.refresh(ticket)
    assert ticket.status == Status.RESOLVED
    attachment = db.session.scalars(select(Attachment)).one()
    assert attachment.event.kind == EventKind.REPLY and attachment.event.is_public
    page = customer_sees(client, auth, ticket)
    assert "Here is your receipt." in page and "receipt.png 64 bytes" in page


def test_send_and_set_to_waiting_on_customer(client, as_agent, ticket) -> None:
    send(client, ticket, {"body": "Which order?", "action": "send_pending"})
    db.session.refresh(ticket)
    assert ticket.status == Status.PENDING
    assert [e.kind for e in events(ticket)][-3:] == [
        EventKind.REPLY,
        EventKind.STATUS_CHANGED,  # new → open, by the reply
        EventKind.STATUS_CHANGED,  # open → pending
    ]


def test_a_refused_file_sends_nothing_and_stores_nothing(client, as_agent, ticket, app) -> None:
    response = send(client, ticket, {"body": "See attached"}, [(b"MZ...", "tool.exe")])
    assert response.status_code == 422
    assert "can't be attached" in said(response) and "choose your files again" in said(response)
    assert events(ticket, EventKind.REPLY) == [] and stored_files(app) == []


def test_a_note_cannot_resolve_an_unanswered_ticket(client, as_agent, ticket, app) -> None:
    response = send(
        client,
        ticket,
        {"mode": "note", "body": "Done", "action": "send_resolved"},
        [(PNG, "a.png")],
    )
    assert response.status_code == 422
    assert "the customer has had no answer" in said(response)
    db.session.refresh(ticket)
    assert ticket.status == Status.NEW and events(ticket, EventKind.NOTE) == []
    assert stored_files(app) == []  # the upload went with the refused change


def test_an_unknown_action_is_400(client, as_agent, ticket) -> None:
    assert send(client, ticket, {"action": "shout"}).status_code == 400


# --- macros ---------------------------------------------------------------------------


def make_macro(agent, **fields) -> CannedResponse:
    macro = CannedResponse(title="Refund done", body="Refunded, {{ customer.first_name }}.")
    for name, value in fields.items():
        setattr(macro, name, value)
    db.session.add(macro)
    db.session.commit()
    return macro


def test_admin_saves_a_macro(client, auth, admin, agent) -> None:
    auth.login(admin)
    form = {
        "title": "Refund done",
        "body": "Refunded.",
        "then_status": "resolved",
        "then_priority": "high",
        "add_tags": "refund, Refund ,vip",
        "assignee": str(agent.id),
    }
    response = client.post("/admin/canned/new", data=form)
    assert response.status_code == 303
    macro = db.session.scalars(select(CannedResponse)).one()
    assert (macro.set_status, macro.set_priority, macro.add_tags) == (
        Status.RESOLVED,
        Priority.HIGH,
        "refund, vip",
    )
    assert macro.set_assignee_id == agent.id
    listing = words(client.get("/admin/canned/"))
    assert "Macro When sent: set the status to Resolved; set the priority to High" in listing
    edit = said(client.get(f"/admin/canned/{macro.id}/edit"))
    assert '<option selected value="resolved">' in edit


def test_admin_macro_bad_values(client, auth, admin) -> None:
    auth.login(admin)
    base = {"title": "X", "body": "Y"}
    for bad in (
        {"then_status": "escalated"},
        {"then_status": "closed"},
        {"then_priority": "huge"},
        {"add_tags": "<b>bold</b>"},
        {"add_tags": "x" * 500},
        {"assignee": "99999999999999999999"},
    ):
        response = client.post("/admin/canned/new", data={**base, **bad})
        assert response.status_code == 422, bad
    assert db.session.scalar(select(func.count()).select_from(CannedResponse)) == 0


def test_a_macro_is_inserted_then_applied_with_the_reply(
    client, as_agent, ticket, colleague
) -> None:
    macro = make_macro(
        colleague,
        set_status=Status.PENDING,
        set_priority=Priority.URGENT,
        add_tags="refund",
        set_assignee=colleague,
    )
    url = f"/board/tickets/{ticket.ref}/reply"
    response = client.post(
        url, data={"action": "insert", "canned": str(macro.id), "mode": "reply"}, headers=HX
    )
    page = said(response)
    assert "Refunded, Casey." in page and "When you send this, it will also" in words(response)
    assert f'name="macro" type="hidden" value="{macro.id}"' in page
    assert "set the status to Waiting on customer; set the priority to Urgent" in words(response)
    response = send(client, ticket, {"body": "Refunded, Casey.", "macro": str(macro.id)})
    assert response.status_code == 200
    assert "Also: set the status to Waiting on customer" in said(response)
    db.session.refresh(ticket)
    assert ticket.status == Status.PENDING and ticket.priority == Priority.URGENT
    assert [t.name for t in ticket.tags] == ["refund"] and ticket.assignee_id == colleague.id


def test_a_macro_whose_status_cannot_be_reached_changes_nothing(
    client, as_agent, agent, ticket
) -> None:
    service.reply(ticket, author=agent, body="Fixed.")
    service.change_status(ticket, Status.RESOLVED, actor=agent)
    version, replies = ticket.version, len(events(ticket, EventKind.REPLY))
    macro = make_macro(agent, set_status=Status.PENDING, set_priority=Priority.HIGH)
    response = send(client, ticket, {"body": "One more thing", "macro": str(macro.id)})
    assert response.status_code == 422
    assert "can't go from resolved to pending" in said(response)
    assert "One more thing" in said(response)  # the draft stays
    db.session.refresh(ticket)
    assert (ticket.version, ticket.priority, ticket.status) == (
        version,
        Priority.NORMAL,
        Status.RESOLVED,
    )
    assert len(events(ticket, EventKind.REPLY)) == replies


def test_a_macro_can_be_dropped_or_gone(client, as_agent, agent, ticket) -> None:
    macro = make_macro(agent, set_priority=Priority.HIGH)
    response = send(client, ticket, {"action": "drop_macro", "macro": str(macro.id)})
    assert response.status_code == 200 and 'name="macro" type="hidden" value=""' in said(response)
    for gone in ("99999", "99999999999999999999", "²"):
        response = send(client, ticket, {"body": "Hi", "macro": gone})
        assert response.status_code == 422 and "no longer exists" in said(response)
    assert events(ticket, EventKind.REPLY) == []


def test_human_size_of_small_files() -> None:
    assert attachments.human_size(64) == "64 bytes"
    assert attachments.human_size(1) == "1 byte"
    assert attachments.human_size(1024) == "1 KB"
