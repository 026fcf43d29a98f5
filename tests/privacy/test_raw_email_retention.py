"""Retention reaches inbound email: "delete stored files after N days" drops the raw
copies of handled messages, never one still waiting for an admin in quarantine."""

from __future__ import annotations

from datetime import timedelta

from flask import Flask

from support import clock
from support.extensions import db
from support.mail.inbound import intake
from support.models import InboundMessage, InboundStatus
from support.privacy import retention
from tests.factories import Factory
from tests.privacy.conftest import run_jobs


def email(n: int) -> bytes:
    return (
        f"From: Ann Example <ann{n}@example.com>\r\n"
        f"To: support@example.com\r\nSubject: Parcel {n} is late\r\n"
        f"Message-ID: <late-{n}@example.com>\r\n\r\nWhere is parcel {n}?\r\n"
    ).encode()


def test_old_raw_emails_go_and_quarantined_ones_stay(app: Flask, make: Factory) -> None:
    admin = make.admin()
    filed = intake.store(email(1), "pipe")
    held = intake.store(email(2), "pipe")
    run_jobs(app)
    held = db.session.get(InboundMessage, held.id)
    held.status = InboundStatus.QUARANTINED  # waiting for an admin, whatever its reason
    db.session.commit()
    retention.save(anonymise_days=None, files_days=5, audit_days=365, by=admin)

    clock.freeze(clock.now() + timedelta(days=10))
    try:
        preview = retention.preview(None, 5)
        assert preview.files >= 1
        retention.apply()
    finally:
        clock.freeze(None)

    db.session.expire_all()
    assert db.session.get(InboundMessage, filed.id).raw == b""
    assert db.session.get(InboundMessage, held.id).raw == email(2)
    # The row stays, so the same message arriving again is still recognised.
    assert intake.store(email(1), "pipe").id == filed.id
