"""Export my data: through the pages, a real RQ worker builds the zip; it holds the
customer's tickets with public events and files, and nothing of anyone else."""

from __future__ import annotations

import io
import zipfile
from datetime import timedelta
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from support import clock
from support.extensions import db
from support.models import DataExport, JobState, User
from support.privacy import export
from support.tickets import service
from tests.conftest import Auth
from tests.factories import Factory
from tests.privacy.conftest import run_jobs, stored


def _zip_of(client: FlaskClient) -> tuple[DataExport, zipfile.ZipFile]:
    found = db.session.scalar(select(DataExport).order_by(DataExport.id.desc()))
    response = client.get(f"/account/privacy/exports/{found.id}/download")
    assert response.status_code == 200, response.status_code
    assert response.mimetype == "application/zip"
    data = response.get_data()
    response.close()  # sent from the file on disk
    return found, zipfile.ZipFile(io.BytesIO(data))


def test_export_has_their_data_and_nothing_of_anyone_else(
    app: Flask, client: FlaskClient, make: Factory, auth: Auth, zelda: User
) -> None:
    other = make.customer(name="Olga Other", email="olga.other@example.com")
    agent = make.agent(name="Alex Agent")
    mine = make.ticket(
        zelda, subject="My parcel never came", files=[stored("label.txt", b"my label")]
    )
    service.reply(mine, author=agent, body="We are checking with the courier")
    service.reply(
        mine,
        author=agent,
        body="Internal: courier blames warehouse",
        public=False,
        files=[stored("warehouse.txt", b"internal file")],
    )
    service.reply(mine, author=agent, body="Olga Other had the same", public=False)
    theirs = make.ticket(other, subject="Olga's secret order", description="olga.other@example.com")
    service.merge(theirs, into=make.ticket(other), actor=agent)

    auth.login(zelda)
    page = client.post("/account/privacy/export")
    assert page.status_code == 303
    status = client.get("/account/privacy").get_data(as_text=True)
    assert "Waiting to start" in status or "Putting your data together" in status
    run_jobs(app)
    found, zf = _zip_of(client)

    names = zf.namelist()
    assert {"account.json", "notifications.json", "README.txt", f"tickets/{mine.ref}.json"} <= set(
        names
    )
    everything = b"".join(zf.read(n) for n in names).lower()
    assert b"my parcel never came" in everything and b"we are checking" in everything
    assert b"my label" in everything
    for secret in (b"olga", b"internal:", b"internal file", b"warehouse", b"courier blames"):
        assert secret not in everything, [n for n in names if secret in zf.read(n).lower()]
    # The team is named by role in the timeline (notifications say what she was shown).
    timeline = zf.read(f"tickets/{mine.ref}.json").lower()
    assert b"alex" not in timeline and b'"support team"' in timeline
    poll = client.get(f"/account/privacy/exports/{found.id}", headers={"HX-Request": "true"})
    assert poll.status_code == 286 and "Download the zip" in poll.get_data(as_text=True)


def test_another_customer_cannot_see_or_download_it(
    app: Flask, client: FlaskClient, make: Factory, auth: Auth, zelda: User
) -> None:
    built = export.ask(zelda)
    run_jobs(app)
    auth.login(make.customer())
    for path in (
        f"/account/privacy/exports/{built.id}",
        f"/account/privacy/exports/{built.id}/download",
    ):
        assert client.get(path).status_code == 404


def test_the_link_expires_after_24_hours(
    app: Flask, client: FlaskClient, auth: Auth, zelda: User
) -> None:
    built = export.ask(zelda)
    run_jobs(app)
    auth.login(zelda)
    clock.freeze(clock.now() + timedelta(hours=25))
    try:
        response = client.get(f"/account/privacy/exports/{built.id}/download")
        assert response.status_code == 410
        assert "make a new export" in response.get_data(as_text=True)
        assert export.expire() == 1
        assert not list(Path(app.config["EXPORT_FOLDER"]).glob("*.zip"))
    finally:
        clock.freeze(None)


def test_export_refused_clearly_while_erasure_runs(
    client: FlaskClient, make: Factory, auth: Auth, zelda: User
) -> None:
    from support.privacy import erasure

    erasure.start(zelda, by=make.admin())
    auth.login(zelda)  # the job ends her sessions when it runs; it hasn't yet
    response = client.post("/account/privacy/export")
    assert response.status_code == 409
    assert "being erased" in response.get_data(as_text=True)
    assert db.session.scalar(select(DataExport)) is None


def test_export_queries_are_constant_per_batch(
    app: Flask, make: Factory, zelda: User, count_queries, monkeypatch
) -> None:
    """Three batches cost three times one batch's queries, plus the same fixed part."""
    monkeypatch.setattr(export, "BATCH", 5)
    agent = make.agent()
    counts = []
    for n in (5, 15):
        customer = make.customer()
        for _ in range(n):
            t = make.ticket(customer, files=[stored("a.txt", b"x")])
            service.reply(t, author=agent, body="answer")
        built = export.ask(customer)
        with count_queries() as counter:
            export.build(built.id)
        counts.append(counter.count)
        assert db.session.get(DataExport, built.id).state == JobState.DONE
    per_batch = (counts[1] - counts[0]) / 2
    assert per_batch <= 10, counts
    assert counts[0] - per_batch <= 20, counts
