"""An in-process worker keeps its SMTP connection for the next email, and a
connection the server has closed is replaced without losing or doubling a message."""

from __future__ import annotations

import smtplib
import time
from collections.abc import Iterator

import pytest
from flask import Flask

from support.extensions import db
from support.jobs import queue
from support.models import EmailKind, OutboxMessage
from support.notify import mailer, outbox
from tests.smtp import SmtpServer


@pytest.fixture(autouse=True)
def _fresh_connection() -> Iterator[None]:
    mailer.close()
    yield
    mailer.close()


def queued(key: str) -> OutboxMessage:
    message = outbox.queue_email(
        key=key, kind=EmailKind.EVENT, to="customer@example.com", subject=key, body="Hello."
    )
    assert message is not None
    db.session.commit()
    return message


def test_consecutive_emails_share_one_connection(app: Flask, smtp: SmtpServer) -> None:
    for n in range(3):
        mailer.send(queued(f"reuse-{n}"))
    assert [m["Subject"] for m in smtp.mailbox.messages] == ["reuse-0", "reuse-1", "reuse-2"]
    assert len(set(smtp.mailbox.peers)) == 1


def test_a_connection_the_server_closed_is_replaced_once(app: Flask) -> None:
    server = SmtpServer(idle_timeout=0.5)
    server.start()
    try:
        app.config["MAIL_PORT"] = server.port
        mailer.send(queued("before-the-pause"))
        time.sleep(1.2)  # the server hangs up on the quiet connection
        mailer.send(queued("after-the-pause"))
        subjects = [m["Subject"] for m in server.mailbox.messages]
        assert subjects == ["before-the-pause", "after-the-pause"]  # each exactly once
        assert len(set(server.mailbox.peers)) == 2
    finally:
        server.stop()


def test_new_settings_get_a_new_connection(app: Flask, smtp: SmtpServer) -> None:
    mailer.send(queued("first-server"))
    other = SmtpServer()
    other.start()
    try:
        app.config["MAIL_PORT"] = other.port
        mailer.send(queued("second-server"))
        assert [m["Subject"] for m in other.mailbox.messages] == ["second-server"]
        assert [m["Subject"] for m in smtp.mailbox.messages] == ["first-server"]
    finally:
        other.stop()


def test_a_refused_connection_raises_and_leaves_nothing_open(app: Flask, smtp: SmtpServer) -> None:
    smtp.stop()
    with pytest.raises(OSError):
        mailer.send(queued("nobody-listens"))
    assert mailer.open_connections() == 0


def test_the_worker_stops_after_max_jobs_for_its_supervisor_to_restart_it(
    app: Flask, smtp: SmtpServer, worker_process
) -> None:
    """`--max-jobs` bounds what a leaking job could build up in an in-process worker."""
    for n in range(3):  # one job per email (a drain would send all three in one job)
        key = queued(f"max-jobs-{n}").idempotency_key
        assert queue.enqueue(outbox.DELIVER, key, job_id=outbox.job_id(key))
    worker = worker_process("--burst", "--no-scheduler", "--max-jobs", "2")
    assert worker.wait(timeout=60) == 0
    assert len(smtp.mailbox.messages) == 2
    assert queue.queue(app).count == 1  # left for the next worker


@pytest.mark.parametrize(
    "to",
    [
        "customer@example.com",
        '"Sam, Customer" <sam@example.com>',
        "customer@example.com\r\nCc: victim@example.com",  # folded: text, never a recipient
    ],
    ids=["plain", "display-name", "injected-cc"],
)
def test_what_goes_on_the_wire_is_what_send_message_would_send(
    app: Flask, smtp: SmtpServer, monkeypatch: pytest.MonkeyPatch, to: str
) -> None:
    """The mailer flattens each email itself (once, in the drain's thread) and takes its
    envelope from the headers it wrote: the server gets the same envelope and bytes as
    from smtplib's `send_message`."""
    build = mailer.build

    def fixed_boundary(message: OutboxMessage):  # (else a random one per email)
        email = build(message)
        email.set_boundary("===============0123456789==")
        return email

    monkeypatch.setattr(mailer, "build", fixed_boundary)
    received = []
    original = smtp.mailbox.handle_DATA

    async def keep_envelope(server, session, envelope):
        received.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return await original(server, session, envelope)

    smtp.mailbox.handle_DATA = keep_envelope
    message = outbox.queue_email(
        key="wire", kind=EmailKind.EVENT, to=to, subject="Über the wire", body="Hello.\n.\n"
    )
    assert message is not None
    db.session.commit()

    with smtplib.SMTP("127.0.0.1", smtp.port) as client:
        client.send_message(mailer.build(message))
    mailer.send(message)

    assert len(received) == 2
    assert received[0] == received[1]
    assert received[0][1] == [to.split("\r\n")[0].split("<")[-1].rstrip(">")]
