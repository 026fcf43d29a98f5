"""1,000 webhook deliveries through the outbox, sent by ONE real worker process.

Seeds 4 webhooks (all events) and 25 tickets with 9 customer replies each through the
ticket service: 250 timeline events, one delivery per event and webhook = 1,000
deliveries, each with its `deliver_webhook` job (the acknowledgement emails' jobs are
dropped: this measures webhooks). Then `flask --app app worker --burst` (one worker,
jobs in its own process as in production; `--fork`: a work horse per job) POSTs them
to a ThreadingHTTPServer on loopback that checks every signature and counts every
delivery by its `Support-Desk-Delivery` header.

Run from the repo root: .venv/bin/python bench/webhooks.py [--fork]
Needs a Redis: REDIS_URL if set, else an embedded redis-server started (and stopped)
here. Everything it creates is removed: the receiver, Redis (or this run's keys in
yours), the temporary database.

Prints deliveries per second (worker launch to exit, start-up included) and the end
state: delivered, pending, failed; received, duplicates, lost, out of order.
"""

from __future__ import annotations

import itertools
import os
import sys
import threading
import uuid
from collections import Counter, defaultdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from common import bench_app, burst_worker, worker_env
from notifications import forget_jobs
from sqlalchemy import func, select

from support import clock
from support.auth import accounts
from support.extensions import db
from support.jobs import queue
from support.jobs.embedded import EmbeddedRedis
from support.models import DeliveryStatus, WebhookDelivery, WebhookEvent
from support.tickets import service
from support.webhooks import outbox, signing, subscriptions

WEBHOOKS = 4
TICKETS = 25
REPLIES_PER_TICKET = 9  # (1 created + 9 replied) x 25 tickets x 4 webhooks = 1,000
PASSWORD = "bench-password-1"


class Tally:
    """What the receiver saw: deliveries by id, their order per webhook, bad signatures."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.ids: Counter[int] = Counter()
        self.order: dict[str, list[int]] = defaultdict(list)
        self.bad_signatures = 0
        self.secrets: dict[str, str] = {}


def receiver(tally: Tally) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            delivery = int(self.headers["Support-Desk-Delivery"])
            good = signing.verify(self.server_secret(), body, self.headers[signing.HEADER])
            with tally.lock:
                tally.ids[delivery] += 1
                tally.order[self.path].append(delivery)
                tally.bad_signatures += not good
            self.send_response(204)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def server_secret(self) -> str:
            return tally.secrets[self.path]

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def seed(base_url: str, tally: Tally) -> list[int]:
    """Webhooks, tickets and replies; returns the deliveries' ids."""
    for n in range(WEBHOOKS):
        hook = subscriptions.create(
            url=f"{base_url}/hook/{n}", events=[e.value for e in WebhookEvent], by=None
        )
        tally.secrets[f"/hook/{n}"] = hook.secret
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
            service.reply(ticket, author=customer, body=f"Update {r}: still nothing at step {r}.")
    return list(db.session.scalars(select(WebhookDelivery.id).order_by(WebhookDelivery.id)))


def main() -> None:
    embedded = None if os.environ.get("REDIS_URL") else EmbeddedRedis()
    redis_url = os.environ.get("REDIS_URL") or embedded.start()
    tally = Tally()
    server = receiver(tally)
    base_url = f"http://127.0.0.1:{server.server_address[1]}"
    app, tmp = bench_app(
        REDIS_URL=redis_url,
        RQ_QUEUE=f"bench-{uuid.uuid4().hex[:12]}",
        MAIL_BACKEND="file",
        BASE_URL="http://support.bench",
        WEBHOOKS_ALLOW_PRIVATE=True,
    )
    try:
        with app.app_context():
            clock.freeze(clock.now())  # one moment: SLA wake-ups dedupe per ticket
            try:
                ids = seed(base_url, tally)
            finally:
                clock.freeze(None)
            q = queue.queue(app)
            q.empty()  # the emails' and webhooks' jobs: only the webhooks' go back
            for delivery_id in ids:
                queue.enqueue(outbox.DELIVER, delivery_id, job_id=outbox.job_id(delivery_id))
            env = worker_env(
                app,
                Path(tmp.name) / "worker-instance",
                MAIL_BACKEND="file",
                WEBHOOKS_ALLOW_PRIVATE="1",
            )
            db.session.remove()
            seconds, _ = burst_worker(env, *(["--fork"] if "--fork" in sys.argv[1:] else []))

            ran = q.finished_job_registry.count + q.failed_job_registry.count
            states = dict(
                db.session.execute(
                    select(WebhookDelivery.status, func.count()).group_by(WebhookDelivery.status)
                ).all()
            )
            delivered = states.get(DeliveryStatus.DELIVERED, 0)
            pending = sum(states.get(s, 0) for s in outbox.IN_LINE)
            failed = states.get(DeliveryStatus.FAILED, 0)
            received = sum(tally.ids.values())
            duplicates = sum(n - 1 for n in tally.ids.values() if n > 1)
            lost = len(set(ids) - set(tally.ids))
            out_of_order = sum(
                sum(1 for a, b in itertools.pairwise(seen) if b < a)
                for seen in tally.order.values()
            )

            print(f"webhook_deliveries_queued: {len(ids)} deliveries")
            print(f"webhook_jobs: {ran} jobs")
            print(f"webhook_deliveries_per_second: {delivered / seconds:.1f} deliveries/s")
            print(f"webhook_worker_wall: {seconds:.2f} s")
            print(f"webhook_delivered: {delivered} deliveries")
            print(f"webhook_pending: {pending} deliveries")
            print(f"webhook_failed: {failed} deliveries")
            print(f"receiver_received: {received} requests")
            print(f"receiver_duplicates: {duplicates} requests")
            print(f"receiver_lost: {lost} deliveries")
            print(f"receiver_out_of_order: {out_of_order} requests")
            print(f"receiver_bad_signatures: {tally.bad_signatures} requests")

            forget_jobs(app)
            db.session.remove()
            db.engine.dispose()
    finally:
        server.shutdown()
        server.server_close()
        if embedded is not None:
            embedded.stop()
        tmp.cleanup()


if __name__ == "__main__":
    main()
