"""IMAP ingest: 2,000 messages appended to a real Dovecot (tests/imap/dovecot.py: a
temporary server on loopback), fetched by `poll` into the intake (raw committed, filing
queued), then filed by ONE in-process RQ worker in burst mode.

Mix: new tickets (plain, HTML, with an attachment), replies to tickets by their subject
reference, and automatic mail (Auto-Submitted). Prints `name: value unit`: messages per
second for the poll (fetch + commit + enqueue) and for filing, and the end state: stored,
lost (not stored), duplicated, left unmarked on the server, delivered by a second poll.

    .venv/bin/python bench/mail_imap.py [--messages 2000]
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path

from common import bench_app
from imapclient import IMAPClient
from rq import SimpleWorker
from sqlalchemy import func, select

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from support.auth import accounts
from support.extensions import db
from support.jobs import queue
from support.jobs.embedded import EmbeddedRedis
from support.jobs.mailbox import store_from_imap
from support.mail import imap
from support.mail.inbound import quarantine
from support.mail.inbound.settings import Rules
from support.models import InboundMessage, Role, Ticket
from support.tickets import service
from tests.imap import dovecot

CUSTOMERS = 200


def build(n: int, refs: list[str]) -> bytes:
    message = EmailMessage()
    customer = n % CUSTOMERS
    message["From"] = f"Customer {customer} <customer{customer}@example.com>"
    message["To"] = "support@example.com"
    message["Message-ID"] = make_msgid(idstring=f"bench{n}", domain="client.example")
    kind = n % 10
    if kind < 6:
        message["Subject"] = f"Order {10000 + n} has not arrived"
        message.set_content(f"Hello, order {10000 + n} was due last week. Where is it?\n")
        if kind == 1:
            message.add_alternative(f"<p>Hello, order <b>{10000 + n}</b> is late.</p>", "html")
        if kind == 2:
            message.add_attachment(
                b"%PDF-1.4 receipt " * 200, "application", "pdf", filename=f"receipt-{n}.pdf"
            )
    elif kind < 9:  # from the ticket's own customer (seed_tickets: customer i has refs[i])
        del message["From"]
        message["From"] = f"customer{n % len(refs)}@example.com"
        message["Subject"] = f"Re: [{refs[n % len(refs)]}] your request"
        message.set_content("Thanks, any news on this?\n\n> earlier message\n")
    else:
        message["Subject"] = "Automatic reply: out of office"
        message["Auto-Submitted"] = "auto-replied"
        message.set_content("I am away until Monday.\n")
    return bytes(message)


def seed_tickets(count: int) -> list[str]:
    """Tickets of the bench's customers, for replies to reference."""
    quarantine.save_settings(
        Rules(max_new_tickets_per_hour=0, max_acknowledgements_per_hour=0),
        accounts.create_user(
            email="admin@example.com", name="Admin", password=None, role=Role.ADMIN
        ),
    )
    refs = []
    for i in range(count):
        customer = accounts.create_user(
            email=f"customer{i}@example.com", name=f"Customer {i}", password=None
        )
        ticket = service.open_ticket(
            customer=customer, subject=f"Earlier question {i}", description="Seeded for the bench."
        )
        refs.append(ticket.ref)
    return refs


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=2000)
    total = parser.parse_args().messages
    logging.basicConfig(level=logging.WARNING)
    if not dovecot.available():
        sys.exit("dovecot is not installed: apt-get install dovecot-imapd")
    server = dovecot.start()
    redis = EmbeddedRedis()
    try:
        app, tmp = bench_app(REDIS_URL=redis.start(), MAIL_BACKEND="file")
        settings = imap.ImapSettings(
            host="127.0.0.1",
            port=server.port,
            tls="off",
            user=server.user,
            password=server.password,
            folder="INBOX",
        )
        with app.app_context():
            refs = seed_tickets(CUSTOMERS // 4)
            tickets_before = db.session.scalar(select(func.count(Ticket.id)))
            client = IMAPClient("127.0.0.1", port=server.port, ssl=False)
            client.login(server.user, server.password)
            for n in range(total):
                client.append("INBOX", build(n, refs))

            start = time.perf_counter()
            result = imap.poll(store_from_imap, settings)
            poll_seconds = time.perf_counter() - start

            start = time.perf_counter()
            worker = SimpleWorker([queue.queue(app)], connection=queue.queue(app).connection)
            worker.work(burst=True, with_scheduler=False, logging_level="ERROR")
            file_seconds = time.perf_counter() - start
            db.session.expire_all()

            stored = db.session.scalar(select(func.count(InboundMessage.id)))
            distinct = db.session.scalar(
                select(func.count(func.distinct(InboundMessage.message_id)))
            )
            client.select_folder("INBOX", readonly=True)
            unmarked = len(client.search(["UNKEYWORD", imap.FILED_KEYWORD.decode()]))
            again = imap.poll(store_from_imap, settings)
            filed = db.session.scalar(
                select(func.count(InboundMessage.id)).where(InboundMessage.status == "filed")
            )
            tickets_made = db.session.scalar(select(func.count(Ticket.id))) - tickets_before
            client.logout()
        print(f"imap_messages: {total} messages")
        print(f"imap_poll_rate: {result.delivered / poll_seconds:.1f} messages/s")
        print(f"imap_filing_rate: {stored / file_seconds:.1f} messages/s")
        print(f"imap_end_to_end_rate: {stored / (poll_seconds + file_seconds):.1f} messages/s")
        print(f"imap_stored: {stored} messages")
        print(f"imap_lost: {total - stored} messages")
        print(f"imap_duplicated: {stored - distinct} messages")
        print(f"imap_left_unmarked: {unmarked} messages")
        print(f"imap_second_poll_delivered: {again.delivered} messages")
        print(f"imap_filed: {filed} messages")
        print(f"imap_new_tickets: {tickets_made} tickets")
        tmp.cleanup()
    finally:
        redis.stop()
        server.stop()


if __name__ == "__main__":
    main()
