"""Privacy tests: an app whose exports, uploads and KB index live in the test's folder,
a real RQ worker in burst mode, and a customer whose words are easy to search for."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from rq import SimpleWorker

from support.extensions import db
from support.jobs import queue
from support.jobs.redis import connection
from support.models import User
from support.tickets import attachments
from tests.conftest import make_app, running
from tests.factories import Factory
from tests.smtp import SmtpServer


@pytest.fixture
def app(tmp_path: Path, redis_url: str, smtp: SmtpServer) -> Iterator[Flask]:
    app = make_app(
        tmp_path,
        redis_url,
        EXPORT_FOLDER=str(tmp_path / "exports"),
        WEBHOOKS_ALLOW_PRIVATE=True,
        **smtp.settings,
    )
    with running(app):
        yield app
        redis = connection(app)
        for key in redis.scan_iter(f"rq:*{app.config['RQ_QUEUE']}*"):
            redis.delete(key)


def run_jobs(app: Flask) -> None:
    worker = SimpleWorker([queue.queue(app)], connection=connection(app))
    worker.work(burst=True, with_scheduler=False, logging_level="WARNING")
    db.session.expire_all()


def stored(name: str, content: bytes) -> attachments.StoredFile:
    return attachments.store(name, io.BytesIO(content))


@pytest.fixture
def zelda(make: Factory) -> User:
    return make.customer(name="Zelda Quimby", email="zelda.quimby@example.com")
