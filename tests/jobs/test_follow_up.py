"""After resolution: the follow-up email with its survey link, the survey itself (no
login, single use, expiring), reopening by reply, and closing after days of silence.

Time moves with `clock.freeze`; `advance` releases the delayed jobs due by then (what
RQ's scheduler does) and a real burst worker runs them, sending real email over SMTP.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from support import clock
from support.extensions import db
from support.jobs import tasks
from support.models import EventKind, Rating, Status, SurveyInvite, Ticket, TicketEvent
from support.tickets import service
from tests.smtp import text_part

T0 = datetime(2032, 3, 1, 9, 0)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
RESOLVED_AT = T0 + 2 * HOUR
FOLLOW_UP_AT = RESOLVED_AT + 24 * HOUR  # FOLLOW_UP_AFTER_HOURS
CLOSE_AT = RESOLVED_AT + 7 * DAY  # AUTO_CLOSE_AFTER_DAYS
SURVEY_LINK = re.compile(r"http://support\.test(/survey/[A-Za-z0-9_.\-]+)")


@pytest.fixture
def resolved(make, run_jobs, frozen):
    """A ticket answered at T0+1h and resolved by the agent at T0+2h (mail delivered)."""
    customer, agent = make.customer(), make.agent()
    ticket = make.ticket(customer)
    clock.freeze(T0 + HOUR)
    service.reply(ticket, author=agent, body="We refunded the duplicate charge.")
    clock.freeze(RESOLVED_AT)
    service.change_status(ticket, Status.RESOLVED, actor=agent)
    run_jobs()
    assert ticket.resolved_at == RESOLVED_AT
    return ticket


def events_of(ticket: Ticket, kind: EventKind) -> list[TicketEvent]:
    query = select(TicketEvent).where(TicketEvent.ticket_id == ticket.id, TicketEvent.kind == kind)
    return list(db.session.scalars(query.order_by(TicketEvent.id)))


def follow_ups(smtp, ticket: Ticket) -> list:
    return [
        m
        for m in smtp.mailbox.to(ticket.customer.email)
        if m["Subject"] == f"[{ticket.ref}] Is everything working again?"
    ]


def survey_path(smtp, ticket: Ticket) -> str:
    [mail] = follow_ups(smtp, ticket)
    match = SURVEY_LINK.search(text_part(mail))
    assert match, text_part(mail)
    return match.group(1)


def customer_reply(client, auth, ticket: Ticket, body: str) -> None:
    auth.login(ticket.customer)
    response = client.post(f"/tickets/{ticket.ref}/reply", data={"body": body})
    assert response.status_code == 303
    auth.logout()


# --- the follow-up email ------------------------------------------------------------------


def test_follow_up_email_once_with_survey_link(resolved, smtp, run_jobs, advance):
    ticket = resolved
    advance(FOLLOW_UP_AT - timedelta(minutes=1))
    assert follow_ups(smtp, ticket) == []

    advance(FOLLOW_UP_AT)
    [mail] = follow_ups(smtp, ticket)
    assert mail["In-Reply-To"] == f"<{ticket.ref}@localhost>"
    body = text_part(mail)
    assert f"http://support.test/tickets/{ticket.ref}" in body
    path = survey_path(smtp, ticket)
    assert path.startswith("/survey/")
    [invite] = db.session.scalars(select(SurveyInvite)).all()
    assert invite.resolved_at == RESOLVED_AT
    assert invite.expires_at == FOLLOW_UP_AT + timedelta(days=14)
    assert invite.expires_at.strftime("%d %B %Y") in body
    [event] = events_of(ticket, EventKind.FOLLOW_UP_SENT)
    assert event.is_public
    assert event.actor is None

    # The job again, the sweep, a retry: nothing more is sent.
    tasks.follow_up(ticket.id)
    tasks.sweep()
    run_jobs()
    advance(FOLLOW_UP_AT + HOUR)
    db.session.expire_all()
    assert len(follow_ups(smtp, ticket)) == 1
    assert len(events_of(ticket, EventKind.FOLLOW_UP_SENT)) == 1
    assert db.session.scalar(select(func.count(SurveyInvite.id))) == 1


@pytest.mark.parametrize(
    ("hours", "words"),
    [(24, "a day ago"), (4, "4 hours ago"), (72, "3 days ago"), (1, "an hour ago")],
)
def test_follow_up_says_when_it_was_resolved_as_configured(
    app, make, smtp, run_jobs, advance, frozen, hours, words
):
    app.config["FOLLOW_UP_AFTER_HOURS"] = hours
    customer, agent = make.customer(), make.agent()
    ticket = make.ticket(customer)
    clock.freeze(RESOLVED_AT)
    service.change_status(ticket, Status.RESOLVED, actor=agent)
    run_jobs()

    advance(RESOLVED_AT + hours * HOUR)
    [mail] = follow_ups(smtp, ticket)
    body = text_part(mail)
    assert f'We resolved your request {ticket.ref} ("{ticket.subject}") {words}.' in body
    assert "yesterday" not in body


# --- the survey ---------------------------------------------------------------------------


def test_survey_works_without_login_once(app, resolved, smtp, advance):
    ticket = resolved
    advance(FOLLOW_UP_AT)
    path = survey_path(smtp, ticket)
    client = app.test_client()  # nobody is logged in

    page = client.get(path)
    assert page.status_code == 200
    assert "How did we do?" in page.get_data(as_text=True)
    assert ticket.ref in page.get_data(as_text=True)

    clock.freeze(FOLLOW_UP_AT + 2 * HOUR)
    answer = client.post(path, data={"score": "4", "comment": "Quick and kind."})
    assert answer.status_code == 200
    assert "Thank you!" in answer.get_data(as_text=True)
    rating = db.session.scalar(select(Rating).where(Rating.ticket_id == ticket.id))
    assert (rating.score, rating.comment) == (4, "Quick and kind.")
    [rated] = events_of(ticket, EventKind.RATED)
    assert rated.actor_id == ticket.customer_id
    assert rated.data == {"score": 4}

    # The link works once.
    again = client.get(path)
    assert again.status_code == 410
    assert "You have already answered" in again.get_data(as_text=True)
    resubmit = client.post(path, data={"score": "1"})
    assert resubmit.status_code == 410
    db.session.expire_all()
    assert db.session.scalar(select(Rating.score).where(Rating.ticket_id == ticket.id)) == 4
    assert len(events_of(ticket, EventKind.RATED)) == 1


def test_survey_without_a_choice_explains_and_keeps_the_link(app, resolved, smtp, advance):
    advance(FOLLOW_UP_AT)
    path = survey_path(smtp, resolved)
    client = app.test_client()
    response = client.post(path, data={"comment": "No score"})
    assert response.status_code == 422
    assert "Choose a rating from 1 to 5." in response.get_data(as_text=True)
    assert client.get(path).status_code == 200


def test_tampered_survey_link_does_not_work(app, resolved, smtp, advance):
    advance(FOLLOW_UP_AT)
    path = survey_path(smtp, resolved)
    client = app.test_client()
    # Change a character mid-signature (a last base64 character may only hold padding bits).
    at = path.rindex(".") + 10
    tampered = path[:at] + ("A" if path[at] != "A" else "B") + path[at + 1 :]
    for bad in (tampered, "/survey/not-a-token", path.replace("/survey/", "/survey/x")):
        response = client.get(bad)
        assert response.status_code == 404, bad
        assert "This survey link doesn't work" in response.get_data(as_text=True)
        assert client.post(bad, data={"score": "1"}).status_code == 404
    assert db.session.scalar(select(func.count(Rating.id))) == 0


def test_expired_survey_link_is_closed(app, resolved, smtp, advance):
    advance(FOLLOW_UP_AT)
    path = survey_path(smtp, resolved)
    client = app.test_client()
    expires = FOLLOW_UP_AT + timedelta(days=app.config["SURVEY_VALID_DAYS"])

    clock.freeze(expires - timedelta(minutes=1))
    assert client.get(path).status_code == 200
    clock.freeze(expires + timedelta(minutes=1))
    response = client.get(path)
    assert response.status_code == 410
    assert "This survey has closed" in response.get_data(as_text=True)
    assert client.post(path, data={"score": "5"}).status_code == 410
    assert db.session.scalar(select(func.count(Rating.id))) == 0


# --- a reply reopens ----------------------------------------------------------------------


def test_customer_reply_reopens_and_cancels_that_follow_up(
    client, auth, resolved, smtp, run_jobs, advance
):
    ticket = resolved
    clock.freeze(RESOLVED_AT + 3 * HOUR)
    customer_reply(client, auth, ticket, "It happened again this morning.")
    db.session.refresh(ticket)
    assert ticket.status == Status.OPEN
    assert ticket.resolved_at is None
    [reopened] = events_of(ticket, EventKind.REOPENED)
    assert reopened.actor_id == ticket.customer_id

    advance(FOLLOW_UP_AT)
    tasks.sweep()
    run_jobs()
    assert follow_ups(smtp, ticket) == []
    assert events_of(ticket, EventKind.FOLLOW_UP_SENT) == []
    assert db.session.scalar(select(func.count(SurveyInvite.id))) == 0


def test_reopened_ticket_gets_back_the_time_it_had_left(
    client, auth, resolved, smtp, run_jobs, advance
):
    """Time spent resolved does not count: a reopen days later is not an instant breach."""
    ticket = resolved  # answered at T0+1h (next update due T0+25h), resolved at T0+2h
    assert ticket.next_update_due == T0 + 25 * HOUR
    clock.freeze(RESOLVED_AT + 2 * DAY)
    customer_reply(client, auth, ticket, "It is back.")
    db.session.refresh(ticket)
    assert ticket.status == Status.OPEN
    assert ticket.next_update_due == T0 + 25 * HOUR + 2 * DAY
    tasks.sweep()
    run_jobs()
    db.session.refresh(ticket)
    assert events_of(ticket, EventKind.SLA_BREACH) == []
    assert (ticket.status, ticket.tier) == (Status.OPEN, 1)


def test_resolved_again_gets_follow_up_for_the_new_resolution_only(
    client, auth, make, resolved, smtp, run_jobs, advance
):
    ticket = resolved
    agent = make.agent()
    clock.freeze(RESOLVED_AT + 3 * HOUR)
    customer_reply(client, auth, ticket, "Still broken.")
    clock.freeze(RESOLVED_AT + 6 * HOUR)
    db.session.refresh(ticket)
    service.change_status(ticket, Status.RESOLVED, actor=agent, note="Fixed for real now.")
    run_jobs()

    advance(FOLLOW_UP_AT)  # the first resolution's job: that resolution is gone
    assert follow_ups(smtp, ticket) == []
    advance(RESOLVED_AT + 6 * HOUR + 24 * HOUR)
    assert len(follow_ups(smtp, ticket)) == 1
    [invite] = db.session.scalars(select(SurveyInvite)).all()
    assert invite.resolved_at == RESOLVED_AT + 6 * HOUR


# --- auto-close ---------------------------------------------------------------------------


def test_auto_close_after_days_without_reply(resolved, smtp, run_jobs, advance):
    ticket = resolved
    advance(CLOSE_AT - timedelta(minutes=1))
    tasks.sweep()
    run_jobs()
    db.session.refresh(ticket)
    assert ticket.status == Status.RESOLVED  # not before

    advance(CLOSE_AT)
    db.session.refresh(ticket)
    assert ticket.status == Status.CLOSED
    assert ticket.closed_at == CLOSE_AT
    [closed] = [
        e for e in events_of(ticket, EventKind.STATUS_CHANGED) if e.data["to"] == Status.CLOSED
    ]
    assert closed.actor is None  # the system closed it
    assert closed.is_public
    assert "Closed automatically after 7 days without a reply." in closed.body_text
    mails = smtp.mailbox.to(ticket.customer.email)
    assert "Closed automatically" in text_part(mails[-1])

    # Idempotent: later runs close nothing twice.
    tasks.auto_close(ticket.id)
    tasks.sweep()
    run_jobs()
    closing = [e for e in events_of(ticket, EventKind.STATUS_CHANGED) if e.data["to"] == "closed"]
    assert len(closing) == 1


def test_no_auto_close_when_the_customer_replied_in_between(
    client, auth, make, resolved, smtp, run_jobs, advance
):
    ticket = resolved
    agent = make.agent()
    clock.freeze(RESOLVED_AT + 3 * DAY)
    customer_reply(client, auth, ticket, "Wait, the second refund never arrived.")
    clock.freeze(RESOLVED_AT + 4 * DAY)
    db.session.refresh(ticket)
    service.reply(ticket, author=agent, body="It is on its way, reference 5521.")
    service.change_status(ticket, Status.RESOLVED, actor=agent)
    run_jobs()

    advance(CLOSE_AT)  # the first resolution's auto-close job runs and does nothing
    tasks.sweep()
    run_jobs()
    db.session.refresh(ticket)
    assert ticket.status == Status.RESOLVED

    advance(RESOLVED_AT + 4 * DAY + 7 * DAY)  # seven days after the new resolution
    db.session.refresh(ticket)
    assert ticket.status == Status.CLOSED


def test_no_auto_close_while_the_ticket_is_open_again(
    client, auth, resolved, smtp, run_jobs, advance
):
    ticket = resolved
    clock.freeze(RESOLVED_AT + DAY + HOUR)
    customer_reply(client, auth, ticket, "Not fixed after all.")
    advance(CLOSE_AT + DAY)
    tasks.sweep()
    run_jobs()
    db.session.refresh(ticket)
    assert ticket.status.is_active
    assert ticket.closed_at is None
