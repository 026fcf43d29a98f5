"""The customer portal: filing a ticket, attachments, and following its timeline."""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import encode_multipart

from support import clock
from support.extensions import db
from support.models import (
    Attachment,
    EventKind,
    Priority,
    Rating,
    Status,
    Ticket,
    TicketEvent,
    User,
)
from support.tickets import attachments, service
from tests.conftest import Auth
from tests.factories import Factory

HTMX = {"HX-Request": "true"}
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
MB = 1024 * 1024


@pytest.fixture
def customer(make: Factory, auth: Auth) -> User:
    user = make.customer()
    auth.login(user)
    return user


def post_multipart(
    client: FlaskClient,
    url: str,
    fields: dict[str, str],
    files: Sequence[tuple[bytes, str]] = (),
    headers: dict | None = None,
):
    """POST a form the way a browser does, files and all.

    The body is encoded in memory: the test client's own encoder spools big
    bodies to a temporary file it never closes (a ResourceWarning).
    """
    data = MultiDict(fields)
    for content, name in files:
        data.add("files", FileStorage(io.BytesIO(content), filename=name))
    boundary, body = encode_multipart(data)
    return client.post(
        url,
        data=body,
        content_type=f"multipart/form-data; boundary={boundary}",
        headers=headers or {},
    )


def file_ticket(
    client: FlaskClient,
    files: Sequence[tuple[bytes, str]] = (),
    headers: dict | None = None,
    **fields: str,
):
    """Submit the ticket form."""
    data = {
        "subject": "Charged twice for order 1234",
        "description": "Two charges of 64.00 EUR on my card.",
        "category": "payments",
        "impact": "just_me",
        "client_token": "",
    }
    data.update(fields)
    return post_multipart(client, "/tickets/new", data, files, headers)


def only_ticket() -> Ticket:
    return db.session.scalars(select(Ticket)).one()


def count(model) -> int:
    return db.session.scalar(select(func.count(model.id)))


def stored_files(app: Flask) -> list[Path]:
    folder = Path(app.config["UPLOAD_FOLDER"])
    return [p for p in folder.rglob("*") if p.is_file()] if folder.exists() else []


def event_ids(ticket: Ticket) -> list[int]:
    return list(
        db.session.scalars(
            select(TicketEvent.id)
            .where(TicketEvent.ticket_id == ticket.id)
            .order_by(TicketEvent.id)
        )
    )


def add_replies(ticket: Ticket, n: int) -> None:
    for i in range(n):
        service.reply(ticket, author=ticket.customer, body=f"Message number {i}")


# --- the form ----------------------------------------------------------------------------


def test_new_ticket_form_renders_topics_and_a_fresh_token(
    client: FlaskClient, customer: User
) -> None:
    page = client.get("/tickets/new").text
    assert 'id="ticket-form"' in page
    assert 'enctype="multipart/form-data"' in page
    assert '<option value="payments">Payments</option>' in page
    tokens = re.findall(r'name="client_token" type="hidden" value="([^"]+)"', page)
    assert len(tokens) == 1
    assert tokens[0] not in client.get("/tickets/new").text


# --- filing ------------------------------------------------------------------------------


def test_filing_redirects_to_confirmation(client: FlaskClient, customer: User) -> None:
    response = file_ticket(client)
    ticket = only_ticket()
    assert response.status_code == 303
    assert response.location == f"/tickets/{ticket.ref}/submitted"
    assert ticket.customer_id == customer.id
    assert ticket.category.slug == "payments"
    assert ticket.status == Status.NEW


def test_confirmation_shows_reference_and_promised_reply_time(
    client: FlaskClient, customer: User
) -> None:
    clock.freeze(datetime(2026, 3, 3, 9, 0))
    try:
        # No urgent words ("charged twice" raises the priority): a normal ticket's promise.
        file_ticket(client, subject="Refund missing for order 1234", description="Not here yet.")
        ticket = only_ticket()
        page = client.get(f"/tickets/{ticket.ref}/submitted").text
    finally:
        clock.freeze(None)
    assert ticket.ref in page
    assert "We aim to reply by" in page
    assert ticket.first_response_due == datetime(2026, 3, 3, 17, 0)
    assert "Tue 03 Mar 2026, 17:00 UTC" in page
    assert 'datetime="2026-03-03T17:00:00Z"' in page


def test_urgent_impact_promises_a_sooner_reply(client: FlaskClient, customer: User) -> None:
    file_ticket(client, impact="many_users")
    ticket = only_ticket()
    assert ticket.priority == Priority.URGENT
    due = ticket.first_response_due.strftime("%H:%M UTC")
    assert due in client.get(f"/tickets/{ticket.ref}/submitted").text


def test_htmx_filing_redirects_by_header(client: FlaskClient, customer: User) -> None:
    response = file_ticket(client, headers=HTMX)
    assert response.status_code == 204
    assert response.headers["HX-Redirect"] == f"/tickets/{only_ticket().ref}/submitted"


def test_double_submit_with_same_token_files_once(client: FlaskClient, customer: User) -> None:
    first = file_ticket(client, client_token="form-token-1")
    second = file_ticket(client, client_token="form-token-1")
    assert count(Ticket) == 1
    assert first.location == second.location


def test_different_tokens_file_separate_tickets(client: FlaskClient, customer: User) -> None:
    file_ticket(client, client_token="a")
    file_ticket(client, client_token="b")
    assert count(Ticket) == 2


def test_filing_without_a_topic_is_fine(client: FlaskClient, customer: User) -> None:
    assert file_ticket(client, category="").status_code == 303
    # The category is suggested from the text (support/triage); unclear text stays empty.
    assert only_ticket().category.slug == "payments"
    assert (
        file_ticket(client, category="", subject="Hallo", description="Guten Tag").status_code
        == 303
    )
    assert (
        db.session.scalars(select(Ticket).where(Ticket.subject == "Hallo")).one().category is None
    )


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"subject": ""}, "Give your request a short subject."),
        ({"subject": "   "}, "Give your request a short subject."),
        ({"description": ""}, "Describe the problem so we can help."),
        ({"description": " \n\t "}, "Describe the problem so we can help."),
        ({"subject": "s" * 201}, "Keep the subject under 200 characters."),
        ({"category": "no-such-topic"}, "Not a valid choice"),
        ({"impact": "everyone-on-earth"}, "Not a valid choice"),
    ],
)
def test_invalid_ticket_is_refused_with_field_error(
    client: FlaskClient, customer: User, fields: dict, message: str
) -> None:
    response = file_ticket(client, **fields)
    assert response.status_code == 422
    assert message in response.text
    assert "Please fix the highlighted fields" in response.text
    assert count(Ticket) == 0
    assert count(TicketEvent) == 0


def test_one_megabyte_description_is_explained_and_kept(
    client: FlaskClient, customer: User
) -> None:
    text = ("The app crashed with code 0xDEADBEEF at step 7. " * 22_000)[:MB]
    response = file_ticket(client, description=text, subject="Huge log pasted")
    assert response.status_code == 422
    assert "a message can be at most 50,000" in response.text
    assert "1,048,576 characters" in response.text
    assert text in response.text
    assert 'value="Huge log pasted"' in response.text
    assert count(Ticket) == 0
    assert count(TicketEvent) == 0


def test_htmx_invalid_ticket_returns_only_the_form(client: FlaskClient, customer: User) -> None:
    response = file_ticket(client, headers=HTMX, subject="")
    assert response.status_code == 422
    assert response.text.lstrip().startswith('<form id="ticket-form"')
    assert "<html" not in response.text


UNICODE_SUBJECT = "Überweisung fehlgeschlagen 💳 — 日本語 ñ"
UNICODE_BODY = "Grüße aus Köln 👋\n\nЗдравствуйте, مرحبا, 🙂🎉"


def test_unicode_and_emoji_round_trip(client: FlaskClient, customer: User) -> None:
    file_ticket(client, subject=UNICODE_SUBJECT, description=UNICODE_BODY)
    ticket = only_ticket()
    assert ticket.subject == UNICODE_SUBJECT
    assert ticket.description == UNICODE_BODY
    detail = client.get(f"/tickets/{ticket.ref}").text
    assert UNICODE_SUBJECT in detail
    assert "Grüße aus Köln 👋" in detail
    assert "Здравствуйте, مرحبا, 🙂🎉" in detail
    assert UNICODE_SUBJECT in client.get("/tickets/").text


SCRIPT = '<script>alert("pwned")</script>'


@pytest.mark.parametrize("path", ["/tickets/{ref}", "/tickets/", "/tickets/{ref}/submitted"])
def test_script_in_subject_never_reaches_a_page_raw(
    client: FlaskClient, customer: User, path: str
) -> None:
    file_ticket(client, subject=f"Help {SCRIPT}", description=f"Body {SCRIPT}")
    html = client.get(path.format(ref=only_ticket().ref)).text
    assert "<script>alert" not in html
    assert 'alert("pwned")' not in html


@pytest.mark.parametrize("path", ["/tickets/{ref}", "/tickets/"])
def test_script_in_subject_is_shown_as_text(client: FlaskClient, customer: User, path: str) -> None:
    file_ticket(client, subject=f"Help {SCRIPT}")
    html = client.get(path.format(ref=only_ticket().ref)).text
    assert "Help &lt;script&gt;alert(&#34;pwned&#34;)&lt;/script&gt;" in html


def test_script_in_description_is_escaped(client: FlaskClient, customer: User) -> None:
    file_ticket(client, description=f"Body {SCRIPT} <img src=x onerror=alert(1)>")
    html = client.get(f"/tickets/{only_ticket().ref}").text
    assert "<script>alert" not in html
    assert "<img src=x" not in html
    assert "Body &lt;script&gt;" in html


def test_script_in_reply_is_escaped(client: FlaskClient, customer: User, make: Factory) -> None:
    ticket = make.ticket(customer)
    client.post(f"/tickets/{ticket.ref}/reply", data={"body": SCRIPT})
    html = client.get(f"/tickets/{ticket.ref}").text
    assert "<script>alert" not in html


# --- attachments -------------------------------------------------------------------------


def test_allowed_attachment_is_stored_and_downloadable(client: FlaskClient, customer: User) -> None:
    file_ticket(client, files=[(PNG, "receipt.png")])
    ticket = only_ticket()
    attachment = db.session.scalars(select(Attachment)).one()
    assert (attachment.filename, attachment.size) == ("receipt.png", len(PNG))
    url = f"/tickets/{ticket.ref}/attachments/{attachment.id}/receipt.png"
    assert url in client.get(f"/tickets/{ticket.ref}").text
    response = client.get(url)
    assert response.status_code == 200
    assert response.data == PNG
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert "receipt.png" in response.headers["Content-Disposition"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.mimetype == "image/png"
    response.close()


def test_text_attachment_is_never_served_inline(client: FlaskClient, customer: User) -> None:
    file_ticket(client, files=[(b"<html><script>x()</script>", "page.txt")])
    attachment = db.session.scalars(select(Attachment)).one()
    response = client.get(f"/tickets/{only_ticket().ref}/attachments/{attachment.id}/page.txt")
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert response.mimetype == "text/plain"
    assert "sandbox" in response.headers["Content-Security-Policy"]
    response.close()


def test_several_attachments_are_kept_in_order(client: FlaskClient, customer: User) -> None:
    files = [(PNG, f"shot-{i}.png") for i in range(5)]
    assert file_ticket(client, files=files).status_code == 303
    names = db.session.scalars(select(Attachment.filename).order_by(Attachment.id)).all()
    assert names == [f"shot-{i}.png" for i in range(5)]


@pytest.mark.parametrize("name", ["page.html", "setup.exe", "image.svg", "noextension"])
def test_dangerous_file_type_is_refused(
    app: Flask, client: FlaskClient, customer: User, name: str
) -> None:
    response = file_ticket(client, files=[(b"MZ payload", name)])
    assert response.status_code == 422
    assert f"“{name}” can&#39;t be attached. Allowed types: .csv," in response.text
    assert 'id="files-error"' in response.text
    assert count(Ticket) == 0
    assert stored_files(app) == []


def test_file_over_ten_megabytes_is_refused(
    app: Flask, client: FlaskClient, customer: User
) -> None:
    response = file_ticket(
        client,
        subject="Screen recording",
        files=[(PNG, "ok.png"), (b"x" * (11 * MB), "recording.zip")],
    )
    assert response.status_code == 422
    assert "“recording.zip” is 11.0 MB; each file can be at most 10.0 MB." in response.text
    assert "Please choose your files again." in response.text
    assert 'value="Screen recording"' in response.text
    assert count(Ticket) == 0
    assert count(Attachment) == 0
    assert stored_files(app) == []


def test_more_than_five_files_are_refused(app: Flask, client: FlaskClient, customer: User) -> None:
    files = [(PNG, f"shot-{i}.png") for i in range(6)]
    response = file_ticket(client, files=files)
    assert response.status_code == 422
    assert "You can attach up to 5 files to one message." in response.text
    assert count(Ticket) == 0
    assert stored_files(app) == []


def test_empty_file_is_refused(client: FlaskClient, customer: User) -> None:
    response = file_ticket(client, files=[(b"", "empty.txt")])
    assert response.status_code == 422
    assert "“empty.txt” is empty." in response.text


def test_request_over_the_size_cap_gets_friendly_413(
    app: Flask, client: FlaskClient, customer: User
) -> None:
    too_big = app.config["MAX_CONTENT_LENGTH"] + 1
    response = file_ticket(client, files=[(b"x" * too_big, "dump.zip")])
    assert response.status_code == 413
    assert "That upload is too large" in response.text
    assert "your text is still in the form" in response.text
    assert "Traceback" not in response.text
    assert count(Ticket) == 0


def test_uploaded_filename_cannot_escape_the_store(
    app: Flask, client: FlaskClient, customer: User
) -> None:
    file_ticket(client, files=[(PNG, "../../../etc/evil.png")])
    attachment = db.session.scalars(select(Attachment)).one()
    assert attachment.filename == "evil.png"
    folder = Path(app.config["UPLOAD_FOLDER"]).resolve()
    assert all(folder in p.resolve().parents for p in stored_files(app))


# --- replies -----------------------------------------------------------------------------


@pytest.fixture
def ticket(make: Factory, customer: User) -> Ticket:
    return make.ticket(customer)


def test_reply_appends_to_timeline(client: FlaskClient, ticket: Ticket) -> None:
    response = client.post(f"/tickets/{ticket.ref}/reply", data={"body": "Any news?"})
    assert response.status_code == 303
    assert response.location == f"/tickets/{ticket.ref}#latest"
    last = db.session.scalar(select(TicketEvent).order_by(TicketEvent.id.desc()))
    assert (last.kind, last.body_text) == (EventKind.REPLY, "Any news?")
    assert "Any news?" in client.get(f"/tickets/{ticket.ref}").text


def test_htmx_reply_returns_fresh_form_and_trigger(client: FlaskClient, ticket: Ticket) -> None:
    response = client.post(
        f"/tickets/{ticket.ref}/reply",
        data={"body": "Any news?", "client_token": "reply-1"},
        headers=HTMX,
    )
    assert response.status_code == 200
    assert response.headers["HX-Trigger"] == "ticket-updated"
    assert response.text.lstrip().startswith('<form id="reply-form"')
    assert "<html" not in response.text
    assert "Any news?" not in response.text
    assert 'value="reply-1"' not in response.text


def test_reply_with_attachment(client: FlaskClient, ticket: Ticket) -> None:
    post_multipart(
        client,
        f"/tickets/{ticket.ref}/reply",
        {"body": "Screenshot attached"},
        [(PNG, "error.png")],
    )
    attachment = db.session.scalars(select(Attachment)).one()
    assert attachment.event.body_text == "Screenshot attached"
    assert "error.png" in client.get(f"/tickets/{ticket.ref}").text


def test_empty_reply_is_refused(client: FlaskClient, ticket: Ticket) -> None:
    response = client.post(f"/tickets/{ticket.ref}/reply", data={"body": "  "}, headers=HTMX)
    assert response.status_code == 422
    assert "Write a message before sending." in response.text
    assert response.text.lstrip().startswith('<form id="reply-form"')


def test_double_submitted_reply_is_recorded_once(client: FlaskClient, ticket: Ticket) -> None:
    for _ in range(2):
        client.post(f"/tickets/{ticket.ref}/reply", data={"body": "hi", "client_token": "t1"})
    kinds = db.session.scalars(select(TicketEvent.kind).where(TicketEvent.ticket_id == ticket.id))
    assert list(kinds).count(EventKind.REPLY) == 1


# --- polling -----------------------------------------------------------------------------


def test_events_after_returns_only_newer_events(
    client: FlaskClient, ticket: Ticket, make: Factory
) -> None:
    seen = event_ids(ticket)[-1]
    service.reply(ticket, author=make.agent(), body="We refunded the duplicate.")
    newest = event_ids(ticket)[-1]
    response = client.get(f"/tickets/{ticket.ref}/events?after={seen}")
    assert response.status_code == 200
    assert response.headers["HX-Trigger"] == "timeline-advanced"
    assert "We refunded the duplicate." in response.text
    assert f'id="event-{newest}"' in response.text
    assert f'id="event-{seen}"' not in response.text
    assert f"/tickets/{ticket.ref}/events?after={newest}" in response.text


def test_events_without_news_keep_polling_quietly(client: FlaskClient, ticket: Ticket) -> None:
    newest = event_ids(ticket)[-1]
    response = client.get(f"/tickets/{ticket.ref}/events?after={newest}")
    assert response.status_code == 200
    assert "HX-Trigger" not in response.headers
    assert 'id="event-' not in response.text
    assert f"/tickets/{ticket.ref}/events?after={newest}" in response.text
    assert 'class="poller"' in response.text


def test_detail_poller_starts_at_newest_event(client: FlaskClient, ticket: Ticket) -> None:
    page = client.get(f"/tickets/{ticket.ref}").text
    assert f"/tickets/{ticket.ref}/events?after={event_ids(ticket)[-1]}" in page


# --- paging ------------------------------------------------------------------------------


def test_detail_shows_latest_fifty_and_a_show_earlier_link(
    client: FlaskClient, ticket: Ticket
) -> None:
    add_replies(ticket, 59)
    ids = event_ids(ticket)
    page = client.get(f"/tickets/{ticket.ref}").text
    assert page.count('class="event ') == 50
    assert f'id="event-{ids[-1]}"' in page
    assert f'id="event-{ids[9]}"' not in page
    assert f"/tickets/{ticket.ref}/earlier?before={ids[10]}" in page
    assert "Show earlier messages" in page


def test_show_earlier_returns_the_older_events(client: FlaskClient, ticket: Ticket) -> None:
    add_replies(ticket, 59)
    ids = event_ids(ticket)
    fragment = client.get(f"/tickets/{ticket.ref}/earlier?before={ids[10]}").text
    assert fragment.count('class="event ') == 10
    assert f'id="event-{ids[0]}"' in fragment
    assert f'id="event-{ids[10]}"' not in fragment
    assert "Show earlier messages" not in fragment
    assert "<html" not in fragment


def test_show_earlier_pages_again_when_there_is_more(client: FlaskClient, ticket: Ticket) -> None:
    add_replies(ticket, 119)
    ids = event_ids(ticket)
    fragment = client.get(f"/tickets/{ticket.ref}/earlier?before={ids[70]}").text
    assert fragment.count('class="event ') == 50
    assert f"/tickets/{ticket.ref}/earlier?before={ids[20]}" in fragment


def test_no_show_earlier_link_for_short_timelines(client: FlaskClient, ticket: Ticket) -> None:
    add_replies(ticket, 3)
    assert "Show earlier messages" not in client.get(f"/tickets/{ticket.ref}").text


def test_detail_without_javascript_pages_back(client: FlaskClient, ticket: Ticket) -> None:
    add_replies(ticket, 59)
    ids = event_ids(ticket)
    page = client.get(f"/tickets/{ticket.ref}?before={ids[10]}").text
    assert f'id="event-{ids[0]}"' in page
    assert "Back to the latest" in page


# --- resolve, reopen, follow-up ----------------------------------------------------------


def close(ticket: Ticket, make: Factory) -> None:
    agent = make.agent()
    service.change_status(ticket, Status.RESOLVED, actor=agent)
    service.change_status(ticket, Status.CLOSED, actor=agent)


def test_resolve(client: FlaskClient, ticket: Ticket) -> None:
    response = client.post(f"/tickets/{ticket.ref}/resolve")
    assert response.status_code == 303
    assert ticket.status == Status.RESOLVED
    page = client.get(f"/tickets/{ticket.ref}").text
    assert "We marked your request as resolved" in page
    assert "How did we do?" in page


def test_double_clicked_resolve_is_harmless(client: FlaskClient, ticket: Ticket) -> None:
    first = client.post(f"/tickets/{ticket.ref}/resolve")
    second = client.post(f"/tickets/{ticket.ref}/resolve")
    assert first.status_code == second.status_code == 303
    changes = db.session.scalar(
        select(func.count(TicketEvent.id)).where(
            TicketEvent.ticket_id == ticket.id, TicketEvent.kind == EventKind.STATUS_CHANGED
        )
    )
    assert changes == 1


def test_htmx_resolve_returns_summary_and_trigger(client: FlaskClient, ticket: Ticket) -> None:
    response = client.post(f"/tickets/{ticket.ref}/resolve", headers=HTMX)
    assert response.status_code == 200
    assert response.headers["HX-Trigger"] == "ticket-updated"
    assert response.text.lstrip().startswith('<aside class="ticket-summary"')
    assert "Resolved" in response.text


def test_reopen(client: FlaskClient, ticket: Ticket) -> None:
    client.post(f"/tickets/{ticket.ref}/resolve")
    response = client.post(f"/tickets/{ticket.ref}/reopen")
    assert response.status_code == 303
    assert ticket.status == Status.OPEN
    assert "We reopened your request" in client.get(f"/tickets/{ticket.ref}").text


def test_reopen_closed_ticket_does_not_claim_success(
    client: FlaskClient, ticket: Ticket, make: Factory
) -> None:
    close(ticket, make)
    client.post(f"/tickets/{ticket.ref}/reopen")
    page = client.get(f"/tickets/{ticket.ref}").text
    assert "reply to start a follow-up ticket" in page
    assert "We reopened your request" not in page
    assert ticket.status == Status.CLOSED


def test_htmx_reopen_of_closed_ticket_reloads_the_page(
    client: FlaskClient, ticket: Ticket, make: Factory
) -> None:
    close(ticket, make)
    response = client.post(f"/tickets/{ticket.ref}/reopen", headers=HTMX)
    assert response.status_code == 204
    assert response.headers["HX-Redirect"] == f"/tickets/{ticket.ref}"
    assert ticket.status == Status.CLOSED


def test_customer_reply_reopens_resolved_ticket(client: FlaskClient, ticket: Ticket) -> None:
    client.post(f"/tickets/{ticket.ref}/resolve")
    client.post(f"/tickets/{ticket.ref}/reply", data={"body": "It broke again"})
    assert ticket.status == Status.OPEN
    last = db.session.scalar(select(TicketEvent).order_by(TicketEvent.id.desc()))
    assert last.kind == EventKind.REOPENED


def test_reply_to_closed_ticket_opens_linked_follow_up(
    client: FlaskClient, ticket: Ticket, make: Factory
) -> None:
    close(ticket, make)
    response = client.post(f"/tickets/{ticket.ref}/reply", data={"body": "Happened again"})
    follow_up = db.session.scalar(select(Ticket).where(Ticket.parent_id == ticket.id))
    assert response.status_code == 303
    assert response.location == f"/tickets/{follow_up.ref}"
    assert follow_up.description == "Happened again"
    assert ticket.status == Status.CLOSED
    page = client.get(response.location).text
    assert f"so we opened {follow_up.ref}" in page
    assert f'href="/tickets/{ticket.ref}"' in page
    assert f"/tickets/{follow_up.ref}" in client.get(f"/tickets/{ticket.ref}").text


def test_follow_up_keeps_the_reply_attachments(
    client: FlaskClient, ticket: Ticket, make: Factory
) -> None:
    close(ticket, make)
    response = post_multipart(
        client, f"/tickets/{ticket.ref}/reply", {"body": "Screenshot"}, [(PNG, "again.png")]
    )
    follow_up = db.session.scalar(select(Ticket).where(Ticket.parent_id == ticket.id))
    attachment = db.session.scalars(select(Attachment)).one()
    assert attachment.ticket_id == follow_up.id
    download = client.get(f"{response.location}/attachments/{attachment.id}/again.png")
    assert download.status_code == 200
    assert download.data == PNG
    download.close()


def test_closed_ticket_page_explains_follow_up(
    client: FlaskClient, ticket: Ticket, make: Factory
) -> None:
    close(ticket, make)
    page = client.get(f"/tickets/{ticket.ref}").text
    assert "Your reply starts a new request linked to this one." in page
    assert "My problem is solved" not in page


# --- rating ------------------------------------------------------------------------------


def test_rating_before_resolution_is_refused(client: FlaskClient, ticket: Ticket) -> None:
    response = client.post(f"/tickets/{ticket.ref}/rating", data={"score": "5"})
    assert response.status_code == 422
    assert "once the ticket is resolved" in response.text
    assert count(Rating) == 0


def test_htmx_rating_before_resolution_explains_in_the_summary(
    client: FlaskClient, ticket: Ticket
) -> None:
    response = client.post(f"/tickets/{ticket.ref}/rating", data={"score": "5"}, headers=HTMX)
    assert response.status_code == 422
    assert response.text.lstrip().startswith('<aside class="ticket-summary"')
    assert "once the ticket is resolved" in response.text


def test_rating_form_hidden_until_resolved(client: FlaskClient, ticket: Ticket) -> None:
    assert "How did we do?" not in client.get(f"/tickets/{ticket.ref}").text


@pytest.mark.parametrize("score", ["0", "6", "-1", "five", "", "4.5"])
def test_rating_must_be_one_to_five(client: FlaskClient, ticket: Ticket, score: str) -> None:
    client.post(f"/tickets/{ticket.ref}/resolve")
    response = client.post(f"/tickets/{ticket.ref}/rating", data={"score": score})
    assert response.status_code == 422
    assert count(Rating) == 0


@pytest.mark.parametrize("score", [1, 2, 3, 4, 5])
def test_rating_accepts_one_to_five(client: FlaskClient, ticket: Ticket, score: int) -> None:
    client.post(f"/tickets/{ticket.ref}/resolve")
    response = client.post(f"/tickets/{ticket.ref}/rating", data={"score": str(score)})
    assert response.status_code == 303
    assert db.session.scalar(select(Rating.score)) == score


def test_rating_can_be_changed(client: FlaskClient, ticket: Ticket) -> None:
    client.post(f"/tickets/{ticket.ref}/resolve")
    client.post(f"/tickets/{ticket.ref}/rating", data={"score": "2", "comment": "Slow"})
    client.post(f"/tickets/{ticket.ref}/rating", data={"score": "5", "comment": "Fixed!"})
    rating = db.session.scalars(select(Rating)).one()
    assert (rating.score, rating.comment) == (5, "Fixed!")
    page = client.get(f"/tickets/{ticket.ref}").text
    assert 'aria-label="5 out of 5"' in page
    assert "Update rating" in page


def test_htmx_rating_returns_summary(client: FlaskClient, ticket: Ticket) -> None:
    client.post(f"/tickets/{ticket.ref}/resolve")
    response = client.post(f"/tickets/{ticket.ref}/rating", data={"score": "4"}, headers=HTMX)
    assert response.status_code == 200
    assert response.headers["HX-Trigger"] == "ticket-updated"
    assert 'aria-label="4 out of 5"' in response.text


# --- what the page promises --------------------------------------------------------------


def test_detail_promises_first_reply_then_next_update(
    client: FlaskClient, ticket: Ticket, make: Factory
) -> None:
    assert "We aim to reply by" in client.get(f"/tickets/{ticket.ref}").text
    service.reply(ticket, author=make.agent(), body="Looking into it")
    page = client.get(f"/tickets/{ticket.ref}").text
    assert "You will get an update from us by" in page
    assert "Support team" in page


def test_my_tickets_shows_status_and_what_we_wait_for(
    client: FlaskClient, ticket: Ticket, make: Factory
) -> None:
    service.change_status(ticket, Status.PENDING, actor=make.agent())
    page = client.get("/tickets/").text
    assert ticket.ref in page
    assert "Waiting for you" in page
    assert "Waiting for your reply" in page


def test_my_tickets_empty_state(client: FlaskClient, customer: User) -> None:
    assert "No requests yet" in client.get("/tickets/").text


# --- query counts ------------------------------------------------------------------------


def get_like_production(client: FlaskClient, url: str):
    """GET in a thread of its own, so the request gets a fresh app context and session.

    In the test's own thread every request shares the fixture's app context (and
    its identity map), which would hide or invent queries.
    """
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(client.get, url).result()


def reply_with_file(ticket: Ticket, author: User, body: str) -> None:
    stored = attachments.store("log.txt", io.BytesIO(b"trace"))
    service.reply(ticket, author=author, body=body, files=[stored])


def test_detail_query_count_does_not_grow_with_events(
    client: FlaskClient, ticket: Ticket, make: Factory, count_queries
) -> None:
    agent = make.agent()
    service.reply(ticket, author=agent, body="Looking")  # + status change to open
    service.reply(ticket, author=agent, body="Internal", public=False)
    reply_with_file(ticket, ticket.customer, "Here is the log")
    assert len(event_ids(ticket)) == 5
    url = f"/tickets/{ticket.ref}"
    get_like_production(client, url)  # same starting point: notifications already read
    with count_queries() as small:
        assert get_like_production(client, url).status_code == 200

    # Many more events, by many more people, many with files: lazy loads would show.
    agents = [make.agent() for _ in range(4)]
    for i in range(115):
        author = agents[i % 4]
        if i % 3:
            service.reply(ticket, author=author, body=f"Update {i}", public=i % 2 == 0)
        else:
            reply_with_file(ticket, author, f"Update {i}")
    assert len(event_ids(ticket)) == 120
    get_like_production(client, url)
    with count_queries() as large:
        page = get_like_production(client, url).text
    assert page.count('class="event ') == 50
    assert large.count == small.count


def test_my_tickets_query_count_does_not_grow_with_tickets(
    client: FlaskClient, customer: User, make: Factory, count_queries
) -> None:
    for _ in range(2):
        make.ticket(customer)
    get_like_production(client, "/tickets/")
    with count_queries() as small:
        get_like_production(client, "/tickets/")
    for _ in range(28):
        make.ticket(customer)
    get_like_production(client, "/tickets/")
    with count_queries() as large:
        page = get_like_production(client, "/tickets/").text
    assert page.count('<li class="ticket-row') == 30
    assert large.count == small.count
