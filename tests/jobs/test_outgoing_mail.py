"""Our emails as they arrive at a real SMTP server, sent by a real RQ worker: text and
HTML from one source, a Date, a Reply-To signed for the recipient, Auto-Submitted on
automatic mail only, headers that no subject can break, and an email that can never be
built failing at once where an admin sees it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.message import EmailMessage

import pytest
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from support import clock
from support.extensions import db
from support.jobs import queue, tasks
from support.mail import addresses
from support.models import EmailKind, OutboxMessage, OutboxStatus, Status, Ticket
from support.notify import mailer, outbox
from support.tickets import service
from tests.smtp import text_part

T0 = datetime(2032, 3, 1, 9, 0)  # a Monday; normal priority: first response within 8 h
HOUR = timedelta(hours=1)


def parts(mail: EmailMessage) -> list[str]:
    return [part.get_content_type() for part in mail.iter_parts()]


def html_part(mail: EmailMessage) -> str:
    return mail.get_body(("html",)).get_content()


def reply_token(mail: EmailMessage) -> tuple[str, str]:
    [address] = mail["Reply-To"].addresses
    parsed = addresses.parse(address.addr_spec)
    assert parsed is not None, mail["Reply-To"]
    return parsed


def file_by_post(client, auth, customer, subject: str) -> Ticket:
    auth.login(customer)
    response = client.post(
        "/tickets/new",
        data={
            "subject": subject,
            "description": "Two charges on my card.",
            "category": "payments",
            "impact": "just_me",
        },
    )
    assert response.status_code == 303
    return db.session.scalar(select(Ticket).order_by(Ticket.id.desc()))


def test_acknowledgement_is_text_and_html_dated_signed_and_auto_replied(
    make, smtp, run_jobs, frozen
):
    customer = make.customer(email="maria@example.com", name="Maria Lopez")
    ticket = make.ticket(customer, subject="Charged <twice> & more")
    clock.freeze(T0 + 3 * HOUR)  # delivered hours after it was written (SMTP was slow)
    run_jobs()

    [ack] = smtp.mailbox.to(customer.email)
    assert ack.get_content_type() == "multipart/alternative"
    assert parts(ack) == ["text/plain", "text/html"]  # the text first
    # Date: when it was written, in RFC 5322 form.
    assert ack["Date"].datetime == T0.replace(tzinfo=UTC)
    assert str(ack["Date"]) == "Mon, 01 Mar 2032 09:00:00 +0000"
    assert ack["Auto-Submitted"] == "auto-replied"  # it answers the customer's request
    assert ack["X-Auto-Response-Suppress"] == "All"

    ref, sig = reply_token(ack)
    assert ref == ticket.ref
    assert ack["Reply-To"].addresses[0].domain == "localhost"  # MAIL_FROM's domain
    assert addresses.verify(ref, sig, "maria@example.com")
    assert addresses.verify(ref, sig, "Maria Lopez <Maria@Example.com>")
    assert not addresses.verify(ref, sig, "mallory@example.com")

    text, html = text_part(ack), html_part(ack)
    assert "Charged <twice> & more" in text
    link = f"http://support.test/tickets/{ticket.ref}"
    # The HTML is the same text: escaped, in paragraphs, with the links made clickable…
    assert "Charged &lt;twice&gt; &amp; more" in html and "<twice>" not in html
    assert f'<a href="{link}"' in html
    assert "We have received your request" in html
    # …inside the layout: the site's name, and the footer with the way back.
    assert "Support Desk" in html
    assert f'Reply to this email or open your request: <a href="{link}">' in html
    for loads_or_runs in ("<script", "<img", "<link", "src=", "url("):
        assert loads_or_runs not in html.lower()


def test_agents_reply_carries_no_auto_submitted_and_a_bare_status_change_does(make, smtp, run_jobs):
    customer, agent = make.customer(), make.agent()
    ticket = make.ticket(customer)
    run_jobs()

    service.reply(ticket, author=agent, body="We refunded the duplicate: see https://x.test/r.")
    run_jobs()
    service.change_status(ticket, Status.PENDING, actor=agent)
    run_jobs()
    service.change_status(ticket, Status.RESOLVED, actor=agent, note="Refund confirmed.")
    run_jobs()

    _, reply, pending, resolved = smtp.mailbox.to(customer.email)
    kinds = db.session.scalars(select(OutboxMessage.kind).order_by(OutboxMessage.id))
    assert list(kinds) == [EmailKind.ACK, EmailKind.REPLY, EmailKind.EVENT, EmailKind.REPLY]

    # A person's words: not automatic, so an out-of-office answer to it is welcome.
    for persons in (reply, resolved):
        assert persons["Auto-Submitted"] is None
        assert persons["X-Auto-Response-Suppress"] is None
        assert parts(persons) == ["text/plain", "text/html"]
        assert persons["Date"] is not None
        assert persons["In-Reply-To"] == f"<{ticket.ref}@localhost>"
        ref, sig = reply_token(persons)
        assert ref == ticket.ref and addresses.verify(ref, sig, customer.email)
    assert '<a href="https://x.test/r"' in html_part(reply)
    # A notice about what happened, even one an agent's action caused, is automatic.
    assert pending["Auto-Submitted"] == "auto-generated"
    assert pending["X-Auto-Response-Suppress"] == "All"


def test_delay_notice_follow_up_and_escalation_are_auto_generated(
    make, smtp, run_jobs, advance, frozen
):
    customer, agent = make.customer(), make.agent()
    senior = make.agent(tier=2)
    ticket = make.ticket(customer)
    run_jobs()

    # The SLA job's "we may be late" notice, a fifth of the 8 h target before it.
    advance(T0 + 8 * HOUR - timedelta(minutes=90))
    _, notice = smtp.mailbox.to(customer.email)
    assert "we may not manage to get back to you" in text_part(notice)
    assert notice["Auto-Submitted"] == "auto-generated"

    # An escalation: the email to the new tier's agent, signed for that agent.
    service.escalate(ticket, actor=agent, reason="Card issuer dispute")
    run_jobs()
    [to_senior] = smtp.mailbox.to(senior.email)
    assert to_senior["Auto-Submitted"] == "auto-generated"
    assert parts(to_senior) == ["text/plain", "text/html"]
    ref, sig = reply_token(to_senior)
    assert addresses.verify(ref, sig, senior.email)
    assert not addresses.verify(ref, sig, customer.email)
    board = f"http://support.test/board/tickets/{ticket.ref}"
    assert f'Reply to this email or open the ticket: <a href="{board}">' in html_part(to_senior)
    escalated = smtp.mailbox.to(customer.email)[-1]
    assert escalated["Auto-Submitted"] == "auto-generated"  # our words, not the agent's

    # The follow-up a day after resolution, with the survey.
    service.reply(ticket, author=senior, body="Sorted with the issuer.")
    service.change_status(ticket, Status.RESOLVED, actor=senior)
    run_jobs()
    clock.freeze(clock.now() + 25 * HOUR)
    assert tasks.follow_up(ticket.id)
    run_jobs()
    follow_up = smtp.mailbox.to(customer.email)[-1]
    assert follow_up["Subject"] == f"[{ticket.ref}] Is everything working again?"
    assert follow_up["Auto-Submitted"] == "auto-generated"
    assert follow_up["Date"].datetime == clock.now().replace(tzinfo=UTC)
    assert "/survey/" in html_part(follow_up)


def test_a_retry_keeps_the_date_the_email_was_written(make, smtp, run_jobs, frozen):
    customer = make.customer()
    smtp.stop()
    make.ticket(customer)
    run_jobs()
    message = db.session.scalar(select(OutboxMessage))
    assert (message.status, message.attempts) == (OutboxStatus.PENDING, 1)

    smtp.start()
    clock.freeze(message.next_attempt_at + HOUR)
    tasks.sweep()
    run_jobs()
    [ack] = smtp.mailbox.to(customer.email)
    assert ack["Date"].datetime == T0.replace(tzinfo=UTC)


def test_subject_with_a_line_break_files_a_ticket_whose_emails_go_out(
    client, auth, make, smtp, run_jobs
):
    customer, agent = make.customer(), make.agent()
    ticket = file_by_post(client, auth, customer, "a\r\nSet-Cookie: x=1")
    assert ticket.subject == "a Set-Cookie: x=1"

    service.reply(ticket, author=agent, body="Hello")
    run_jobs()
    ack, reply = smtp.mailbox.to(customer.email)
    assert ack["Subject"] == f"[{ticket.ref}] We received your request: a Set-Cookie: x=1"
    assert reply["Subject"] == f"[{ticket.ref}] a Set-Cookie: x=1"
    for mail in (ack, reply):
        assert mail["Set-Cookie"] is None
    statuses = db.session.scalars(select(OutboxMessage.status))
    assert set(statuses) == {OutboxStatus.SENT}


def test_line_breaks_already_stored_are_folded_out_of_every_header(make, smtp, run_jobs):
    """Tickets filed before subjects were folded, or a name or address with a break in it:
    the mailer folds every header value it writes."""
    customer, agent = make.customer(), make.agent()
    ticket = make.ticket(customer)
    run_jobs()
    ticket.subject = "Old\r\nBcc: victim@example.com\nsubject\x0b"  # (PostgreSQL stores no NUL)
    db.session.commit()

    service.reply(ticket, author=agent, body="Still on it.")
    message = db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id.desc())).first()
    message.to_address = customer.email + "\r\nCc: victim@example.com"
    db.session.commit()
    run_jobs()

    assert db.session.get(OutboxMessage, message.id).status == OutboxStatus.SENT
    [mail] = [m for m in smtp.mailbox.messages if "Still on it." in text_part(m)]
    assert mail["Subject"] == f"[{ticket.ref}] Old Bcc: victim@example.com subject"
    assert mail["Bcc"] is None and mail["Cc"] is None
    assert smtp.mailbox.to("victim@example.com") == []


@pytest.fixture
def broken_ack(monkeypatch):
    """Building the acknowledgement raises, as a bug in a template or the mailer would."""
    build = mailer.build

    def failing(message: OutboxMessage) -> EmailMessage:
        if message.kind == EmailKind.ACK:
            raise ValueError("Header values may not contain linefeed or carriage return")
        return build(message)

    monkeypatch.setattr(mailer, "build", failing)
    return monkeypatch


def test_email_that_cannot_be_built_fails_at_once_and_is_listed_for_admins(
    app, client, auth, make, smtp, run_jobs, broken_ack
):
    customer, agent = make.customer(), make.agent()
    ticket = make.ticket(customer)
    service.reply(ticket, author=agent, body="We are on it.")
    assert run_jobs() == 1  # one drain for both emails

    ack = db.session.scalar(select(OutboxMessage).where(OutboxMessage.kind == EmailKind.ACK))
    assert ack.status == OutboxStatus.FAILED
    assert ack.attempts == 1
    assert ack.last_error == (
        "can't be built: ValueError: Header values may not contain linefeed or carriage return"
    )
    # No exception reached RQ: nothing failed, nothing waits for a retry…
    q = queue.queue(app)
    assert q.failed_job_registry.count == 0
    assert outbox.job_id(ack.idempotency_key) not in q.scheduled_job_registry.get_job_ids()
    assert q.count == 0
    # …and the sweep leaves it alone; the ticket's other email went out.
    tasks.sweep()
    run_jobs()
    assert db.session.get(OutboxMessage, ack.id).attempts == 1
    [reply] = smtp.mailbox.to(customer.email)
    assert "We are on it." in text_part(reply)

    auth.login(make.admin())
    page = client.get("/admin/jobs").get_data(as_text=True)
    assert "No failed jobs." in page
    assert f"[{ticket.ref}] We received your request" in page
    assert "be built: ValueError: Header values may not contain linefeed" in page
    assert f'action="/admin/mail/{ack.id}/retry"' in page

    # An admin's retry fails the same way, at once…
    client.post(f"/admin/mail/{ack.id}/retry")
    run_jobs()
    db.session.expire_all()
    assert (ack.status, ack.attempts) == (OutboxStatus.FAILED, 1)
    # …until the bug is fixed: then it is sent, once.
    broken_ack.undo()
    client.post(f"/admin/mail/{ack.id}/retry")
    run_jobs()
    tasks.sweep()
    run_jobs()
    db.session.expire_all()
    assert ack.status == OutboxStatus.SENT
    assert len(smtp.mailbox.to(customer.email)) == 2


def test_a_database_error_while_building_is_retried_not_given_up(
    app, make, smtp, run_jobs, monkeypatch
):
    """Only the message's own faults are final: a database that went away while the
    email was being built says nothing about the email, so it waits for the next try."""

    def database_gone(message: OutboxMessage) -> EmailMessage:
        raise OperationalError("SELECT tickets", {}, ConnectionError("server closed"))

    monkeypatch.setattr(mailer, "build", database_gone)
    make.ticket(make.customer())
    run_jobs()
    message = db.session.scalar(select(OutboxMessage))
    assert (message.status, message.attempts) == (OutboxStatus.PENDING, 1)
    assert message.last_error.startswith("OperationalError")
    retried = queue.queue(app).scheduled_job_registry.get_job_ids()
    assert [j for j in retried if j.startswith(f"{outbox.DRAIN_KEY}-")]  # RQ retries the drain
