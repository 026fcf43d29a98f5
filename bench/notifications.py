"""2,000 notification emails through the outbox, delivered by ONE real worker process.

Seeds 200 tickets (200 acknowledgements) and 1,800 public agent replies (one
notification email each) through the ticket service. Then `flask --app app worker
--burst` (one worker, running the jobs in its own process as in production;
`--fork` here: a work horse per job) sends them to an aiosmtpd server on loopback
that counts every Message-ID it receives.

Modes (`--mode`, several may be given: each run starts from the same seeded
database, restored from a copy):
- `drain` (the default, what the app enqueues): one coalesced "drain the outbox"
  job sends them all, 50 rows claimed per round trip, over one SMTP connection;
- `per-message`: one `deliver_email` job per email (how every email was sent
  before the drain; still how an admin's retry sends one).

Run from the repo root: .venv/bin/python bench/notifications.py [--mode drain
--mode per-message] [--fork] [--seeded FILE]. `--seeded FILE` keeps the seeded
SQLite database in FILE and reuses it next time (seeding takes minutes).
Needs a Redis: REDIS_URL if set, else an embedded redis-server started (and
stopped) here. Everything else it creates is removed: SMTP server, Redis (or this
run's keys in yours), the temporary database.

Prints, per mode, emails per second (worker launch to exit, start-up included),
the worker's start-up and exit (an empty run), the time its jobs ran (RQ's
stamps) and the rate within them, the worker's CPU seconds per email (start-up
taken off: little affected by what else runs on the machine), the jobs it ran,
and the outbox's end state: all sent, none twice. The worker runs with its
bytecode cached, as a deployed one does (a first, unmeasured run writes it).
`--connections N` sets MAIL_CONNECTIONS for the worker (default: the app's).
`--profile` runs the measured worker under py-spy and prints its busiest functions
(`notify_profile_own_N`, `notify_profile_ours_N`); its times then include the sampler's.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import sys
import uuid
from collections import Counter
from email import policy
from email.parser import BytesHeaderParser
from pathlib import Path

from aiosmtpd.controller import Controller
from common import bench_app, burst_worker, worker_env
from cpu import is_ours, summarise
from rq.job import Job
from sqlalchemy import func, select

from support import clock
from support.auth import accounts
from support.extensions import db
from support.jobs import queue
from support.jobs.embedded import EmbeddedRedis
from support.jobs.redis import connection
from support.models import OutboxMessage, OutboxStatus, Role
from support.notify import outbox
from support.tickets import service

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


def job_seconds(app) -> float:
    """The time this run's jobs spent running (RQ's started/ended stamps), start-up
    and exit of the worker left out."""
    q = queue.queue(app)
    ids = q.finished_job_registry.get_job_ids() + q.failed_job_registry.get_job_ids()
    jobs = [j for j in Job.fetch_many(ids, connection=connection(app)) if j is not None]
    return sum((j.ended_at - j.started_at).total_seconds() for j in jobs if j.ended_at)


def run_worker(env: dict[str, str], fork: bool, profile: Path | None = None) -> tuple[float, float]:
    """One `flask worker --burst` process: wall and CPU seconds. With `profile`, under
    py-spy, whose raw stacks go to that file."""
    spy = str(Path(sys.executable).parent / "py-spy")
    sampler = [spy, "record", "--rate", "200", "--format", "raw", "--output", str(profile), "--"]
    return burst_worker(env, *(["--fork"] if fork else []), wrapper=sampler if profile else None)


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


def enqueue(app, mode: str) -> int:
    """Put this mode's jobs on a clean queue; returns how many."""
    forget_jobs(app)
    if mode == "drain":
        assert outbox.request_drain(force=True)
        return 1
    keys = outbox.due_for_delivery(limit=100_000)
    for key in keys:
        assert queue.enqueue(outbox.DELIVER, key, job_id=outbox.job_id(key))
    return len(keys)


def database_file(app) -> Path:
    return Path(app.config["SQLALCHEMY_DATABASE_URI"].removeprefix("sqlite:///"))


def seed_or_restore(app, seeded: Path | None, snapshot: Path) -> None:
    """Seed the database (or copy in a kept seed); keep a copy to restore per mode."""
    with app.app_context():
        if seeded is not None and seeded.exists():
            db.engine.dispose()
            shutil.copyfile(seeded, database_file(app))
        else:
            clock.freeze(clock.now())  # one moment: SLA wake-ups dedupe per ticket
            try:
                seed()
            finally:
                clock.freeze(None)
            db.session.remove()
            db.engine.dispose()  # the last connection closed: the WAL is checkpointed
            if seeded is not None:
                seeded.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(database_file(app), seeded)
    shutil.copyfile(database_file(app), snapshot)


def restore(app, snapshot: Path) -> None:
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    for suffix in ("-wal", "-shm"):
        Path(f"{database_file(app)}{suffix}").unlink(missing_ok=True)
    shutil.copyfile(snapshot, database_file(app))


def measure(
    app,
    mailbox: CountingMailbox,
    env: dict[str, str],
    mode: str,
    fork: bool,
    profile: Path | None = None,
) -> None:
    """One mode: enqueue, run the worker, print its figures and the end state."""
    mailbox.ids.clear()
    forget_jobs_in(app)
    startup_wall, startup = run_worker(env, fork)  # nothing queued: the start-up alone
    with app.app_context():
        emails = db.session.scalar(select(func.count(OutboxMessage.id)))
        queued = enqueue(app, mode)
        q = queue.queue(app)
        db.session.remove()
        seconds, cpu = run_worker(env, fork, profile)
        ran = q.finished_job_registry.count + q.failed_job_registry.count
        in_jobs = job_seconds(app)
        states = dict(
            db.session.execute(
                select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
            ).all()
        )
        db.session.remove()
    sent = states.get(OutboxStatus.SENT, 0)
    pending = sum(states.get(s, 0) for s in (OutboxStatus.PENDING, OutboxStatus.SENDING))
    received = sum(mailbox.ids.values())
    duplicates = sum(n - 1 for n in mailbox.ids.values() if n > 1)
    name = mode.replace("-", "_")
    print(f"notify_{name}_emails_queued: {emails} messages")
    print(f"notify_{name}_jobs: {ran} jobs ({queued} enqueued)")
    print(f"notify_{name}_emails_per_second: {sent / seconds:.1f} emails/s")
    print(f"notify_{name}_worker_wall: {seconds:.2f} s (start-up and exit {startup_wall:.2f} s)")
    print(f"notify_{name}_in_jobs: {in_jobs:.2f} s, {sent / max(in_jobs, 1e-9):.1f} emails/s")
    print(f"notify_{name}_connections: {env.get('MAIL_CONNECTIONS', 'default')}")
    print(f"notify_{name}_worker_cpu: {cpu:.2f} s (start-up {startup:.2f} s)")
    print(f"notify_{name}_cpu_per_email: {(cpu - startup) / max(sent, 1) * 1000:.2f} ms")
    print(f"notify_{name}_cpu_bound_rate: {max(sent, 1) / max(cpu - startup, 1e-9):.0f} emails/s")
    print(
        f"notify_{name}_outbox: {sent} sent, {pending} pending, "
        f"{states.get(OutboxStatus.FAILED, 0)} failed"
    )
    print(f"notify_{name}_smtp: {received} received, {duplicates} duplicates")
    print(f"load_average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    if profile is not None:
        print_profile(profile)


def print_profile(raw: Path) -> None:
    """The worker's busiest functions: by own time, and the project's including callees."""
    found = summarise(raw.read_text(), keep=is_ours)
    print(f"notify_profile_samples: {found.samples} samples (the sampler's time included above)")
    for rank, (frame, share) in enumerate(found.own, 1):
        print(f"notify_profile_own_{rank}: {share:.1f} % {frame}")
    for rank, (frame, share) in enumerate(found.inclusive, 1):
        print(f"notify_profile_ours_{rank}: {share:.1f} % {frame}")


def forget_jobs_in(app) -> None:
    with app.app_context():
        forget_jobs(app)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mode", action="append", choices=["drain", "per-message"])
    parser.add_argument("--fork", action="store_true")
    parser.add_argument("--seeded", type=Path)
    parser.add_argument("--connections", type=int, help="MAIL_CONNECTIONS for the worker")
    parser.add_argument("--profile", action="store_true", help="sample the worker with py-spy")
    args = parser.parse_args()
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
    env = worker_env(
        app,
        Path(tmp.name) / "worker-instance",
        MAIL_BACKEND="smtp",
        MAIL_SERVER="127.0.0.1",
        MAIL_PORT=str(smtp.port),
        # Bytecode cached as in a deployed worker (written by a first, unmeasured run),
        # outside the repo; a PYTHONDONTWRITEBYTECODE=1 in the environment would
        # otherwise make every start compile the project's sources again.
        PYTHONPYCACHEPREFIX=str(Path(tmp.name) / "pycache"),
    )
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    if args.connections is not None:
        env["MAIL_CONNECTIONS"] = str(args.connections)
    snapshot = Path(tmp.name) / "seeded.db"
    try:
        seed_or_restore(app, args.seeded, snapshot)
        forget_jobs_in(app)
        run_worker(env, args.fork)  # writes the bytecode cache
        for n, mode in enumerate(args.mode or ["drain"]):
            if n:
                restore(app, snapshot)
            profile = Path(tmp.name) / f"{mode}-profile.txt" if args.profile else None
            measure(app, mailbox, env, mode, args.fork, profile)
        forget_jobs_in(app)
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
    finally:
        smtp.stop()
        if embedded is not None:
            embedded.stop()
        tmp.cleanup()


if __name__ == "__main__":
    main()
