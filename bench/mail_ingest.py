"""2,000 mixed emails through the inbound path, and the memory a 25 MB message costs.

The messages: 600 new requests (100 of them HTML, 100 with a PDF attached), 1,000
replies threading on them by In-Reply-To (some by the subject's reference only),
300 automatic messages (auto-replies, lists, no-reply senders) and 100 sent twice.

1. The pipe: ONE `flask --app app mail ingest FILE...` process stores and files them
   all itself (no worker), as an MTA pipe or an import would.
2. The queue (what IMAP and the webhook do): the same 2,000 stored with `intake.store`,
   then ONE `flask --app app worker --burst` process files them.

After each, every message must be filed once: lost (stored but not filed, or not
stored) and duplicated (a message that made two events, or a ticket filed twice)
are counted. Last, a child process stores a 25 MB message and files it, reporting
the peak of Python's allocations (tracemalloc) while filing, against its size.

Run from the repo root: .venv/bin/python bench/mail_ingest.py
Needs a Redis for step 2: REDIS_URL if set, else an embedded one started here.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
import uuid
from email import message_from_bytes
from email.message import EmailMessage
from pathlib import Path

from common import bench_app, burst_worker, worker_env
from sqlalchemy import func, select

from support.extensions import db
from support.jobs.embedded import EmbeddedRedis
from support.mail.inbound import intake, settings
from support.models import (
    EventKind,
    InboundMessage,
    InboundStatus,
    Outcome,
    Role,
    Ticket,
    TicketEvent,
    User,
)
from support.tickets.categories import ensure_default_categories

ROOT = Path(__file__).resolve().parent.parent
NEW, REPLIES, AUTOMATIC, TWICE = 600, 1000, 300, 100


def _message(number: int, sender: str, subject: str, body: str, **headers: str) -> bytes:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = "support@localhost"
    message["Subject"] = subject
    message["Message-ID"] = f"<bench-{number}@client.example>"
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content(body)
    return bytes(message)


def messages() -> list[bytes]:
    """NEW + REPLIES + AUTOMATIC distinct messages, then TWICE of them again."""
    out: list[bytes] = []
    for n in range(NEW):
        sender = f"Customer {n} <customer{n}@example.com>"
        raw = _message(n, sender, f"Order {n} problem", f"My order {n} has a problem.\n" * 5)
        if n % 6 == 1:  # HTML only
            mail = EmailMessage()
            for key in ("From", "To", "Subject", "Message-ID"):
                mail[key] = _header(raw, key)
            mail.set_content(f"<p>Order <b>{n}</b> <img src='https://t.example/x.gif'></p>", "html")
            raw = bytes(mail)
        elif n % 6 == 2:  # with an attachment
            mail = EmailMessage()
            for key in ("From", "To", "Subject", "Message-ID"):
                mail[key] = _header(raw, key)
            mail.set_content(f"Invoice for order {n} attached.")
            mail.add_attachment(
                b"%PDF-1.4 " + os.urandom(20_000), "application", "pdf", filename=f"invoice-{n}.pdf"
            )
            raw = bytes(mail)
        out.append(raw)
    for r in range(REPLIES):
        n = r % NEW
        number = NEW + r
        out.append(
            _message(
                number,
                f"customer{n}@example.com",
                f"Re: Order {n} problem",
                f"Reply {r}: still broken.\n\nOn Monday you wrote:\n> quoted history\n",
                In_Reply_To=f"<bench-{n}@client.example>",
            )
        )
    kinds = [
        {"Auto_Submitted": "auto-replied"},
        {"Precedence": "bulk"},
        {"List_Id": "<news.example>"},
    ]
    for a in range(AUTOMATIC):
        number = NEW + REPLIES + a
        sender = "noreply@shop.example" if a % 4 == 3 else f"customer{a}@example.com"
        headers = kinds[a % 3] if a % 4 != 3 else {}
        out.append(_message(number, sender, "Automatic reply", "I am away.", **headers))
    return out + out[:TWICE]


def _header(raw: bytes, name: str) -> str:
    return str(message_from_bytes(raw)[name])


def check(expected_new: int) -> dict[str, int]:
    """Lost and duplicated, from the database."""
    rows = db.session.scalar(select(func.count(InboundMessage.id)))
    unfiled = db.session.scalar(
        select(func.count(InboundMessage.id)).where(InboundMessage.status == InboundStatus.RECEIVED)
    )
    quarantined_without_reason = db.session.scalar(
        select(func.count(InboundMessage.id)).where(
            InboundMessage.status == InboundStatus.QUARANTINED, InboundMessage.reason.is_(None)
        )
    )
    by_token = select(TicketEvent.client_token, func.count()).where(
        TicketEvent.client_token.like("mail:%")
    )
    twice = db.session.execute(
        by_token.group_by(TicketEvent.client_token).having(func.count() > 1)
    ).all()
    tickets = db.session.scalar(select(func.count(Ticket.id)))
    created = db.session.scalar(
        select(func.count(TicketEvent.id)).where(TicketEvent.kind == EventKind.CREATED)
    )
    outcomes = dict(
        db.session.execute(
            select(InboundMessage.outcome, func.count()).group_by(InboundMessage.outcome)
        ).all()
    )
    distinct = NEW + REPLIES + AUTOMATIC
    return {
        "stored": rows,
        "lost": (distinct - rows) + unfiled + quarantined_without_reason,
        "duplicated": len(twice) + max(0, tickets - expected_new) + max(0, created - tickets),
        "new": outcomes.get(Outcome.NEW, 0),
        "reply": outcomes.get(Outcome.REPLY, 0),
        "automatic": outcomes.get(Outcome.IGNORED_AUTOMATIC, 0) + outcomes.get(Outcome.NOTE, 0),
        "quarantined": outcomes.get(Outcome.QUARANTINED, 0),
    }


def _fresh(app) -> None:
    with app.app_context():
        db.drop_all()
        db.create_all()
        ensure_default_categories()
        admin = User(email="admin@example.com", name="Admin", role=Role.ADMIN, password_hash="!")
        db.session.add(admin)
        db.session.commit()
        # The bench's senders write a lot in an hour: no caps in the way.
        settings.save(settings.Rules(False, 0, 0), admin)
        db.session.remove()


def _env(app, tmp: str) -> dict[str, str]:
    return worker_env(
        app,
        Path(tmp) / "instance",
        MAIL_BACKEND="file",
        UPLOAD_FOLDER=app.config["UPLOAD_FOLDER"],
    )


def pipe(app, tmp: str, raws: list[bytes]) -> None:
    folder = Path(tmp) / "mails"
    folder.mkdir(exist_ok=True)
    files = []
    for number, raw in enumerate(raws):
        path = folder / f"{number:05d}.eml"
        path.write_bytes(raw)
        files.append(str(path))
    start = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "app", "mail", "ingest", *files],
        cwd=ROOT,
        env=_env(app, tmp),
        capture_output=True,
        text=True,
        timeout=3600,
    )
    seconds = time.perf_counter() - start
    lines = result.stdout.count("\n")
    with app.app_context():
        found = check(NEW)
        db.session.remove()
    print(f"mail_pipe_messages: {len(raws)} messages ({lines} lines, exit {result.returncode})")
    print(f"mail_pipe_per_second: {len(raws) / seconds:.1f} messages/s")
    _report("mail_pipe", found)


def queued(app, tmp: str, raws: list[bytes]) -> None:
    with app.app_context():
        start = time.perf_counter()
        for raw in raws:
            intake.store(raw, "imap")
        stored = time.perf_counter() - start
        db.session.remove()
    seconds, _ = burst_worker(_env(app, tmp), "--no-scheduler")
    with app.app_context():
        found = check(NEW)
        db.session.remove()
    print(f"mail_store_per_second: {len(raws) / stored:.1f} messages/s")
    print(f"mail_worker_per_second: {len(raws) / seconds:.1f} messages/s")
    _report("mail_worker", found)


def _report(prefix: str, found: dict[str, int]) -> None:
    for key in ("stored", "new", "reply", "automatic", "quarantined", "lost", "duplicated"):
        print(f"{prefix}_{key}: {found[key]} messages")


MEMORY_CHILD = """
import sys, tracemalloc
sys.path.insert(0, "bench")
from email.message import EmailMessage
from common import bench_app, burst_worker, worker_env
from support.extensions import db
from support.mail.inbound import intake
app, tmp = bench_app(REDIS_URL="redis://127.0.0.1:1/0")
mail = EmailMessage()
mail["From"], mail["To"], mail["Subject"] = "big@example.com", "support@localhost", "Big"
mail["Message-ID"] = "<big@example.com>"
mail.set_content("The whole log is attached.")
import os
mail.add_attachment(os.urandom(18_700_000), "application", "zip", filename="logs.zip")
raw = bytes(mail)
del mail
with app.app_context():
    stored = intake.store(raw, "pipe", enqueue=False)
    size, inbound_id = len(raw), stored.id
    del raw
    db.session.expunge_all()
    tracemalloc.start()
    outcome = intake.file_message(inbound_id)
    peak = tracemalloc.get_traced_memory()[1]
    print(size, peak, outcome.value)
"""


def memory() -> None:
    result = subprocess.run(
        [sys.executable, "-c", MEMORY_CHILD], cwd=ROOT, capture_output=True, text=True, check=True
    )
    size, peak, outcome = result.stdout.split()[-3:]
    print(f"mail_big_message_size: {int(size) / 1e6:.1f} MB ({outcome})")
    print(f"mail_big_message_peak: {int(peak) / 1e6:.1f} MB")
    print(f"mail_big_message_peak_ratio: {int(peak) / int(size):.2f} x its size")


def main() -> None:
    embedded = None if os.environ.get("REDIS_URL") else EmbeddedRedis()
    redis_url = os.environ.get("REDIS_URL") or embedded.start()
    app, tmp = bench_app(REDIS_URL=redis_url, RQ_QUEUE=f"bench-{uuid.uuid4().hex[:12]}")
    try:
        raws = messages()
        with tempfile.TemporaryDirectory(prefix="mail-bench-") as work:
            _fresh(app)
            pipe(app, work, raws)
            _fresh(app)
            queued(app, work, raws)
        memory()
    finally:
        with app.app_context():
            db.engine.dispose()
        if embedded is not None:
            embedded.stop()
        tmp.cleanup()


if __name__ == "__main__":
    main()
