"""IMAP to tickets: the cron job polls the real Dovecot, the intake commits each raw
message, a real RQ worker files it; a message is marked on the server only once stored."""

from __future__ import annotations

import socket

import pytest
from flask import Flask
from imapclient import IMAPClient
from rq import SimpleWorker
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from support import create_app
from support.extensions import db
from support.jobs import mailbox as mailbox_job
from support.jobs import queue
from support.jobs.mailbox import poll_mailbox
from support.jobs.redis import connection
from support.mail import imap
from support.mail.imap import FILED_KEYWORD, ImapSettings
from support.models import ImapMailboxState, InboundMessage, InboundSource, Ticket
from tests.imap.conftest import CuttingProxy, message


@pytest.fixture
def imap_env(monkeypatch: pytest.MonkeyPatch, imap_settings: ImapSettings) -> ImapSettings:
    """The job reads its settings from the environment, as in production."""
    for name, value in {
        "IMAP_HOST": imap_settings.host,
        "IMAP_PORT": str(imap_settings.port),
        "IMAP_TLS": "off",
        "IMAP_USER": imap_settings.user,
        "IMAP_PASSWORD": imap_settings.password,
        "IMAP_FOLDER": imap_settings.folder,
        "IMAP_TIMEOUT_SECONDS": "10",
    }.items():
        monkeypatch.setenv(name, value)
    return imap_settings


def run_jobs(app: Flask) -> None:
    worker = SimpleWorker([queue.queue(app)], connection=connection(app))
    worker.work(burst=True, with_scheduler=False, logging_level="WARNING")
    db.session.expire_all()


def count(model) -> int:
    return db.session.scalar(select(func.count(model.id)))


def unfiled(mailbox: IMAPClient, settings: ImapSettings) -> list[int]:
    mailbox.select_folder(settings.folder, readonly=True)
    return mailbox.search(["UNKEYWORD", FILED_KEYWORD.decode()])


def test_mail_in_the_mailbox_becomes_tickets_once(
    app: Flask, mailbox: IMAPClient, imap_env: ImapSettings
) -> None:
    for n in (1, 2, 3):
        mailbox.append(imap_env.folder, message(n))

    assert poll_mailbox() == "3 delivered, 0 failed"
    assert unfiled(mailbox, imap_env) == []
    run_jobs(app)
    rows = db.session.scalars(select(InboundMessage)).all()
    assert [r.source for r in rows] == [InboundSource.IMAP] * 3
    assert count(Ticket) == 3

    # A re-fetch (the watermark and the flags lost, as after a crash) changes nothing.
    assert poll_mailbox() == "0 delivered, 0 failed"
    db.session.execute(db.delete(ImapMailboxState))
    db.session.commit()
    mailbox.select_folder(imap_env.folder)
    mailbox.remove_flags(mailbox.search(["ALL"]), [FILED_KEYWORD])
    assert poll_mailbox() == "3 delivered, 0 failed"
    run_jobs(app)
    assert (count(InboundMessage), count(Ticket)) == (3, 3)


def _dead_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # closed again: nothing listens there


def test_database_down_during_ingest_leaves_the_message_for_the_next_poll(
    app: Flask, mailbox: IMAPClient, imap_env: ImapSettings, tmp_path, redis_url: str
) -> None:
    mailbox.append(imap_env.folder, message(1))
    down = create_app(
        {
            "TESTING": True,
            "SUPPORT_ENV": "testing",
            "SECRET_KEY": "test-secret-key",
            "SQLALCHEMY_DATABASE_URI": f"postgresql+psycopg://nobody@127.0.0.1:{_dead_port()}/gone",
            "REDIS_URL": redis_url,
            "UPLOAD_FOLDER": str(tmp_path / "uploads"),
            "KB_INDEX_DIR": str(tmp_path / "kb_index"),
        }
    )
    with down.app_context(), pytest.raises(OperationalError):
        poll_mailbox()
    with down.app_context():
        db.engine.dispose()
    assert len(unfiled(mailbox, imap_env)) == 1  # still there, not marked

    assert poll_mailbox() == "1 delivered, 0 failed"
    run_jobs(app)
    assert (count(InboundMessage), count(Ticket)) == (1, 1)
    assert unfiled(mailbox, imap_env) == []


def test_an_unreachable_server_is_tried_again_next_run(
    app: Flask, imap_env: ImapSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IMAP_PORT", str(_dead_port()))
    assert poll_mailbox().startswith("unreachable:")


def test_without_imap_host_the_job_does_nothing(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("IMAP_HOST", raising=False)
    assert poll_mailbox() == "IMAP is not configured (IMAP_HOST is empty)"


def test_connection_dropped_mid_fetch_files_every_message_once(
    app: Flask,
    mailbox: IMAPClient,
    imap_env: ImapSettings,
    cutting_proxy: CuttingProxy,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(imap, "BATCH_MESSAGES", 2)
    monkeypatch.setenv("IMAP_PORT", str(cutting_proxy.port))
    for n in range(1, 8):
        mailbox.append(imap_env.folder, message(n))
    real_store = mailbox_job.store_from_imap

    def store_then_cut(raw: bytes) -> None:
        real_store(raw)
        if db.session.scalar(select(func.count(InboundMessage.id))) == 3:
            cutting_proxy.cut_after(30)  # the answer after the third message is cut short

    monkeypatch.setattr(mailbox_job, "store_from_imap", store_then_cut)
    assert poll_mailbox().startswith("unreachable:")
    assert cutting_proxy.cuts == 1
    assert count(InboundMessage) == 3

    assert poll_mailbox().endswith("0 failed")
    run_jobs(app)
    assert (count(InboundMessage), count(Ticket)) == (7, 7)
    assert unfiled(mailbox, imap_env) == []
