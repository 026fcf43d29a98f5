"""The three ways in share one path: the CLI pipe, the signed webhook, and the sweep
that re-queues what Redis lost."""

from __future__ import annotations

import time
from pathlib import Path

from sqlalchemy import func, select

from support.extensions import db
from support.jobs import tasks
from support.jobs.queue import queue
from support.mail.inbound import intake
from support.models import InboundMessage, InboundStatus, Ticket
from support.webhooks import signing
from tests.mail.conftest import email, fixture

SECRET = "test-inbound-secret"


def _cli(app, *args: str, stdin: bytes | None = None):
    return app.test_cli_runner().invoke(args=["mail", "ingest", *args], input=stdin)


def test_cli_prints_one_line_per_message(app, tmp_path: Path) -> None:
    new = tmp_path / "new.eml"
    new.write_bytes(email())
    auto = tmp_path / "auto.eml"
    auto.write_bytes(email(sender="noreply@shop.example", subject="Newsletter"))
    bounce = tmp_path / "bounce.eml"
    bounce.write_bytes(fixture("bounce_dsn.eml"))
    junk = tmp_path / "junk.eml"
    junk.write_bytes(b"\x00\xffnot mail at all")
    result = _cli(app, str(new), str(auto), str(bounce), str(junk))
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    ref = db.session.scalar(select(Ticket.ref))
    assert lines == [
        f"{new}: new {ref} acknowledged",
        f"{auto}: ignored-automatic sent by noreply@shop.example",
        f"{bounce}: bounce bouncing: dana@example.com",
        f"{junk}: quarantined no sender: From is missing or unreadable",
    ]


def test_cli_reads_standard_input_and_a_reply_threads(app) -> None:
    result = _cli(app, "-", stdin=email())
    assert result.exit_code == 0 and result.output.startswith("-: new SUP-")
    ref = db.session.scalar(select(Ticket.ref))
    result = _cli(app, stdin=email(subject=f"Re: [{ref}]", body="More"))
    assert result.output == f"-: reply {ref} (unverified)\n"


def test_cli_exit_1_on_an_internal_error(app, tmp_path: Path) -> None:
    good = tmp_path / "good.eml"
    good.write_bytes(email())
    result = _cli(app, str(tmp_path / "missing.eml"), str(good))
    assert result.exit_code == 1
    assert f"{good}: new SUP-" in result.output


def _post(client, body: bytes, header: str | None):
    headers = {signing.HEADER: header} if header is not None else {}
    return client.post("/inbound/email", data=body, headers=headers)


def test_webhook_needs_a_valid_signature(app, client) -> None:
    app.config["INBOUND_EMAIL_SECRET"] = SECRET
    app.config["WTF_CSRF_ENABLED"] = True  # exempt: a signed machine request, no cookie
    raw = email()
    assert _post(client, raw, None).status_code == 401
    assert _post(client, raw, signing.sign("wrong", raw)).status_code == 401
    old = signing.sign(SECRET, raw, timestamp=int(time.time()) - 3600)
    response = _post(client, raw, old)
    assert response.status_code == 401 and "timestamp" in response.json["detail"]
    assert _post(client, b"", signing.sign(SECRET, b"")).status_code == 400
    assert db.session.scalar(select(func.count(InboundMessage.id))) == 0

    response = _post(client, raw, signing.sign(SECRET, raw))
    assert response.status_code == 202 and response.json["status"] == "received"
    again = _post(client, raw, signing.sign(SECRET, raw))  # a provider's retry
    assert again.json["id"] == response.json["id"]


def test_webhook_is_off_without_a_secret(app, client) -> None:
    app.config["INBOUND_EMAIL_SECRET"] = ""
    assert _post(client, email(), signing.sign("", email())).status_code == 404


def test_the_sweep_requeues_what_redis_lost(app) -> None:
    stored = intake.store(email(), "imap", enqueue=False)  # as if Redis had been down
    assert queue(app).count == 0
    db.session.execute(
        InboundMessage.__table__.update().values(received_at=stored.received_at.replace(year=2020))
    )
    db.session.commit()
    assert tasks.sweep()["inbound_mail"] == 1
    assert queue(app).count == 1
    tasks.file_inbound(stored.id)
    db.session.expire_all()
    assert db.session.get(InboundMessage, stored.id).status == InboundStatus.FILED
