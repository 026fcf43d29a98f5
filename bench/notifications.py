"""2,000 notification emails through the outbox, delivered by ONE real worker process.

Seeds 200 tickets (200 acknowledgements) and 1,800 public agent replies (one
notification email each) through the ticket service, so 2,000 `deliver_email`
jobs wait in RQ. Then `flask --app app worker --burst` (one worker, running the
jobs in its own process as in production; `--fork` here: a work horse per job)
sends them to an aiosmtpd server on loopback that counts every Message-ID it
receives.

Run from the repo root: .venv/bin/python bench/notifications.py [--fork]
Needs a Redis: REDIS_URL if set, else an embedded redis-server started (and
stopped) here. Everything it creates is removed: SMTP server, Redis (or this
run's keys in yours), the temporary database.

Prints jobs per second (worker launch to exit, start-up included) and the
outbox's end state: all sent, none twice.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from collections import Counter
from email import policy
from email.parser import BytesHeaderParser
from pathlib import Path

from aiosmtpd.controller import Controller
from common import bench_app
from rq.job import Job
from sqlalchemy import func, select

from support import clock
from support.auth import accounts
from support.extensions import db
from support.jobs import queue
from support.jobs.embedded import EmbeddedRedis
from support.jobs.redis import connection
from support.models import OutboxMessage, OutboxStatus, Role
from support.tickets import service

ROOT = Path(__file__).resolve().parent.parent
TICKETS = 200
REPLIES_PER_TICKET = 9  # 200 acknowledgements + 1,800 replies = 2,000 emails
PASSWORD = "bench-password-1"


class CountingMailbox:
    """aiosmtpd handler: counts accepted messages by Message-ID."""

    def __init__(self) -> None:
        self.ids: Counter[str] = Counter()

    async def handle_DATA(self, server, session, envelope):
        headers = BytesHeaderParser(policy=policy.default).parsebytes(envelope.content)
        self.ids[str(headers["Message-ID"])] += 1
        return "250 Message accepted for delivery"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def seed() -> int:
    """Tickets and public replies; returns how many outbox emails they queued."""
    agent = accounts.create_user(
        email="bench-agent@example.com",
        name="Bench Agent",
        password=PASSWORD,
        role=Role.AGENT,
        tier=1,
    )
    for t in range(TICKETS):
        customer = accounts.create_user(
            email=f"bench-customer{t}@example.com", name=f"Customer {t}", password=PASSWORD
        )
        ticket = service.open_ticket(
            customer=customer,
            subject=f"Payout {t} still pending",
            description="My payout has been pending for a week. " * 3,
        )
        for r in range(REPLIES_PER_TICKET):
            service.reply(ticket, author=agent, body=f"Update {r}: the bank confirmed step {r}.")
    return db.session.scalar(select(func.count(OutboxMessage.id)))


def run_worker(env: dict[str, str], fork: bool) -> float:
    """One `flask worker --burst` process; returns its wall time in seconds."""
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "flask", "--app", "app", "worker", "--burst"]
        + (["--fork"] if fork else []),
        cwd=ROOT,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        timeout=1800,
    )
    return time.perf_counter() - start


def forget_jobs(app) -> None:
    """Remove this run's jobs and queue keys (matters when REDIS_URL is a shared Redis)."""
    q = queue.queue(app)
    redis = connection(app)
    registries = (
        q.finished_job_registry,
        q.failed_job_registry,
        q.scheduled_job_registry,
        q.started_job_registry,
    )
    ids = set(q.get_job_ids())
    for registry in registries:
        ids.update(registry.get_job_ids())
    for job in Job.fetch_many(sorted(ids), connection=redis):
        if job is not None:
            job.delete(remove_from_queue=False)
    for key in redis.scan_iter(f"rq:*{q.name}*"):
        redis.delete(key)


def main() -> None:
    embedded = None if os.environ.get("REDIS_URL") else EmbeddedRedis()
    redis_url = os.environ.get("REDIS_URL") or embedded.start()
    mailbox = CountingMailbox()
    smtp = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    smtp.start()
    app, tmp = bench_app(
        REDIS_URL=redis_url,
        RQ_QUEUE=f"bench-{uuid.uuid4().hex[:12]}",
        MAIL_BACKEND="smtp",
        MAIL_SERVER="127.0.0.1",
        MAIL_PORT=smtp.port,
        BASE_URL="http://support.bench",
    )
    try:
        with app.app_context():
            clock.freeze(clock.now())  # one moment: SLA wake-ups dedupe per ticket
            try:
                emails = seed()
            finally:
                clock.freeze(None)
            q = queue.queue(app)
            queued = q.count
            env = dict(
                os.environ,
                SUPPORT_ENV="testing",
                SECRET_KEY=app.config["SECRET_KEY"],
                DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"],
                REDIS_URL=redis_url,
                RQ_QUEUE=q.name,
                MAIL_BACKEND="smtp",
                MAIL_SERVER="127.0.0.1",
                MAIL_PORT=str(smtp.port),
                BASE_URL=app.config["BASE_URL"],
                INSTANCE_PATH=str(Path(tmp.name) / "worker-instance"),
            )
            db.session.remove()
            seconds = run_worker(env, fork="--fork" in sys.argv[1:])

            ran = q.finished_job_registry.count + q.failed_job_registry.count
            states = dict(
                db.session.execute(
                    select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
                ).all()
            )
            sent = states.get(OutboxStatus.SENT, 0)
            pending = sum(states.get(s, 0) for s in (OutboxStatus.PENDING, OutboxStatus.SENDING))
            failed = states.get(OutboxStatus.FAILED, 0)
            received = sum(mailbox.ids.values())
            duplicates = sum(n - 1 for n in mailbox.ids.values() if n > 1)

            print(f"notify_emails_queued: {emails} messages")
            print(f"notify_jobs: {ran} jobs")
            print(f"notify_jobs_per_second: {ran / seconds:.1f} jobs/s")
            print(f"notify_worker_wall: {seconds:.2f} s")
            print(f"outbox_sent: {sent} messages")
            print(f"outbox_pending: {pending} messages")
            print(f"outbox_failed: {failed} messages")
            print(f"smtp_received: {received} messages")
            print(f"smtp_duplicates: {duplicates} messages")
            if queued != emails:
                print(f"# note: {queued} jobs were queued for {emails} emails", file=sys.stderr)

            forget_jobs(app)
            db.session.remove()
            db.engine.dispose()
    finally:
        smtp.stop()
        if embedded is not None:
            embedded.stop()
        tmp.cleanup()


if __name__ == "__main__":
    main()
