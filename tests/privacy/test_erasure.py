"""Erasure: every table filled with a customer's data, erased, then every text column
of every table, the upload and export folders and the KB index scanned for their name
and email: nothing. Tickets keep status, times, category and rating."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import JSON, String, Text, cast, func, inspect, or_, select

from support import clock
from support.extensions import db
from support.kb import feedback
from support.mail.inbound import intake
from support.models import (
    CategoryCorrection,
    ErasureRequest,
    ErasureState,
    InboundMessage,
    Rating,
    Status,
    Ticket,
    User,
    WebhookDelivery,
)
from support.privacy import erasure, export
from support.tickets import search, service
from support.webhooks import subscriptions
from tests.conftest import Auth
from tests.factories import Factory
from tests.privacy.conftest import run_jobs, stored

NEEDLES = ["zelda quimby", "zelda.quimby", "quimby"]
ZELDAS_EMAIL = (
    b"From: Zelda Quimby <zelda.quimby@example.com>\r\n"
    b"To: support@example.com\r\n"
    b"Subject: Parcel for Zelda Quimby never came\r\n"
    b"Message-ID: <parcel-1@example.com>\r\n"
    b"\r\n"
    b"Hello, this is Zelda Quimby: my parcel never came.\r\n"
)


def raw_email_hits(needles: list[str]) -> int:
    """Stored raw emails (bytes, which the text scan does not read) holding a needle."""
    raws = db.session.scalars(select(InboundMessage.raw))
    return sum(any(n.encode() in (raw or b"").lower() for n in needles) for raw in raws)


def search_hits(word: str, *, titles_only: bool = False) -> int:
    """Tickets the agents' search finds by `word` (the index lives outside the models);
    `titles_only`: the board's search, which PostgreSQL keeps in a table of its own."""
    found = search.matching(search.parse(word), titles_only=titles_only)
    return db.session.scalar(select(func.count(Ticket.id)).where(found))


def fill_everything(app: Flask, make: Factory, zelda: User) -> Ticket:
    """Zelda's data in every place the app keeps any: tickets, events, files, ratings,
    notifications, outbox, webhook deliveries, triage corrections, help-centre searches
    and feedback, a built export, the audit log."""
    subscriptions.create(
        url="http://127.0.0.1:9/hook",
        events=[
            "ticket.created",
            "ticket.replied",
            "ticket.status_changed",
            "ticket.assigned",
            "survey.answered",
        ],
        by=None,
    )
    agent = make.agent(name="Alex Agent")
    ticket = make.ticket(
        zelda,
        subject="Zelda Quimby: refund for order 77",
        description="Write to zelda.quimby@example.com please, Zelda Quimby",
        files=[stored("quimby-receipt.txt", b"Receipt for Zelda Quimby")],
    )
    service.customer_reply(
        ticket,
        customer=zelda,
        body="It's Zelda Quimby again",
        files=[stored("more.txt", b"zelda.quimby@example.com")],
    )
    service.reply(ticket, author=agent, body="Hi Zelda Quimby, on it")
    service.reply(
        ticket,
        author=agent,
        body="Note: zelda.quimby@example.com is a VIP",
        public=False,
        files=[stored("internal.txt", b"Quimby internal")],
    )
    service.escalate(ticket, actor=agent, reason="Zelda Quimby asked twice")
    service.change_status(ticket, to=Status.RESOLVED, actor=agent)
    service.rate(ticket, customer=zelda, score=4, comment="Thanks, from Zelda Quimby")
    db.session.add(
        CategoryCorrection(ticket_id=ticket.id, text="Zelda Quimby refund", category="payments")
    )
    db.session.commit()
    feedback.record_deflection("charged-twice", query="zelda quimby charged twice", user=zelda)
    feedback.record_feedback("charged-twice", helpful=False, comment="Quimby here", user=zelda)
    second = make.ticket(zelda, subject="Another from Quimby", description="Quimby")
    service.change_status(second, to=Status.RESOLVED, actor=agent)
    intake.store(ZELDAS_EMAIL, "pipe")  # a new ticket by email, its raw copy kept
    export.ask(zelda)
    run_jobs(app)  # emails, webhooks (refused: nothing listens), the email and the export
    return ticket


def text_hits(needles: list[str]) -> list[tuple[str, str, int]]:
    """(table, column, rows) for every text-like column of every table holding a needle."""
    hits = []
    for table in db.metadata.sorted_tables:
        for column in table.columns:
            if not isinstance(column.type, String | Text | JSON):
                continue
            value = func.lower(cast(column, Text))
            query = (
                select(func.count())
                .select_from(table)
                .where(or_(*[value.contains(n) for n in needles]))
            )
            if count := db.session.scalar(query):
                hits.append((table.name, column.name, count))
    return hits


def file_hits(folder: Path, needles: list[str]) -> list[str]:
    found = []
    for path in folder.rglob("*") if folder.exists() else []:
        if path.is_file():
            data = path.read_bytes().lower()
            if any(n.encode() in data for n in needles):
                found.append(str(path))
    return found


def test_erasure_leaves_nothing_anywhere(app: Flask, make: Factory, zelda: User) -> None:
    from support.kb import index

    index.rebuild()
    ticket = fill_everything(app, make, zelda)
    other = make.customer(name="Olga Other", email="olga@example.com")
    kept = make.ticket(other, subject="Olga's parcel", description="Olga Other here")
    assert text_hits(NEEDLES), "the test data must be findable before the erasure"
    assert raw_email_hits(NEEDLES) and search_hits("quimby")
    assert search_hits("quimby", titles_only=True)
    assert db.session.scalar(select(func.count()).select_from(WebhookDelivery))
    before = (ticket.status, ticket.created_at, ticket.category_id, ticket.resolved_at)

    admin = make.admin()
    erasure.start(zelda, by=admin)
    run_jobs(app)

    assert text_hits(NEEDLES) == []
    assert raw_email_hits(NEEDLES) == 0
    assert search_hits("quimby") == 0 and search_hits("zelda") == 0
    assert search_hits("quimby", titles_only=True) == 0
    uploads = Path(app.config["UPLOAD_FOLDER"])
    assert file_hits(uploads, NEEDLES) == []
    assert file_hits(Path(app.config["EXPORT_FOLDER"]), NEEDLES) == []
    assert file_hits(Path(app.config["KB_INDEX_DIR"]), NEEDLES) == []
    # Every table was looked at, the new ones of later features too.
    assert {t.name for t in db.metadata.sorted_tables} <= set(inspect(db.engine).get_table_names())

    db.session.expire_all()
    erased = db.session.get(User, zelda.id)
    assert erased.name == f"Deleted customer {zelda.id}"
    assert erased.erased_at is not None and not erased.is_active
    ticket = db.session.get(Ticket, ticket.id)
    assert (ticket.status, ticket.created_at, ticket.category_id, ticket.resolved_at) == before
    assert ticket.anonymised_at is not None
    assert db.session.scalar(select(Rating.score).where(Rating.ticket_id == ticket.id)) == 4
    # Someone else's ticket is untouched.
    assert db.session.get(Ticket, kept.id).subject == "Olga's parcel"
    assert file_hits(uploads, ["olga"]) == [] and text_hits(["olga other"])


def test_the_erased_ticket_pages_still_work(
    app: Flask, client: FlaskClient, make: Factory, auth: Auth, zelda: User
) -> None:
    ticket = make.ticket(zelda, subject="Zelda Quimby's order")
    admin = make.admin()
    erasure.start(zelda, by=admin)
    run_jobs(app)
    auth.login(admin)
    page = client.get(f"/board/tickets/{ticket.ref}")
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert "Quimby" not in body and f"Deleted customer {zelda.id}" in body


def test_erasing_twice_is_harmless(app: Flask, make: Factory, zelda: User) -> None:
    admin = make.admin()
    make.ticket(zelda)
    erasure.start(zelda, by=admin)
    run_jobs(app)
    assert erasure.start(db.session.get(User, zelda.id), by=admin) is None
    run_jobs(app)
    states = db.session.scalars(select(ErasureRequest.state)).all()
    assert states == [ErasureState.DONE]
    # Running the job again (a retry) changes nothing either.
    request = db.session.scalar(select(ErasureRequest))
    assert erasure.run(request.id) == "nothing to do"


def test_an_agent_is_never_erased(make: Factory) -> None:
    agent, admin = make.agent(), make.admin()
    with pytest.raises(erasure.ErasureError, match="Deactivate"):
        erasure.start(agent, by=admin)
    with pytest.raises(erasure.ErasureError):
        erasure.ask(admin, by=admin)
    assert db.session.scalar(select(func.count()).select_from(ErasureRequest)) == 0


def test_export_is_refused_while_an_erasure_runs(make: Factory, zelda: User) -> None:
    admin = make.admin()
    erasure.start(zelda, by=admin)  # confirmed, not yet run (no worker)
    with pytest.raises(export.ExportRefused, match="being erased"):
        export.ask(zelda)


def test_a_stale_editor_is_told_to_reload(app: Flask, make: Factory, zelda: User) -> None:
    """Anonymising bumps the version: an agent's form from before can't write old text back."""
    ticket = make.ticket(zelda)
    version = ticket.version
    service.anonymise([ticket.id], reason="test")
    agent = make.agent()
    fresh = db.session.get(Ticket, ticket.id)
    with pytest.raises(service.StaleTicket):
        service.offer_workaround(fresh, actor=agent, body="x", expected_version=version)
    assert fresh.updated_at <= clock.now()


def test_a_short_name_never_breaks_the_codes_in_the_timeline(
    app: Flask, client: FlaskClient, make: Factory, auth: Auth
) -> None:
    """A customer called "Normal Open" must not rewrite "normal" or "open" in event data."""
    odd = make.customer(name="Normal Open")
    ticket = make.ticket(odd)
    agent = make.agent()
    service.change_status(ticket, to=Status.OPEN, actor=agent)
    admin = make.admin()
    erasure.start(odd, by=admin)
    run_jobs(app)
    auth.login(admin)
    assert client.get(f"/board/tickets/{ticket.ref}").status_code == 200
