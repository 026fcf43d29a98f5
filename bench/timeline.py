"""Customer ticket page with a 500-event timeline: latency and SQL queries per request.

Run from the repo root: .venv/bin/python bench/timeline.py
Budget (SPEC §9): p95 under 25 ms, constant query count.
"""

from __future__ import annotations

import random

from common import QueryCounter, bench_app, report, timed

from support import clock
from support.auth import accounts
from support.extensions import db
from support.models import Role, Status
from support.tickets import service

EVENTS = 500
REQUESTS = 200


def seed() -> tuple[str, str]:
    customer = accounts.create_user(
        email="bench-customer@example.com", name="Bench Customer", password="bench-password-1"
    )
    agent = accounts.create_user(
        email="bench-agent@example.com",
        name="Bench Agent",
        password="bench-password-1",
        role=Role.AGENT,
        tier=1,
    )
    ticket = service.open_ticket(
        customer=customer,
        subject="Long-running payout problem",
        description="My payout has been pending for a while. " * 5,
    )
    rng = random.Random(7)
    cycle = [Status.PENDING, Status.OPEN, Status.ON_HOLD, Status.OPEN]
    for i in range(EVENTS - 1):
        kind = rng.random()
        if kind < 0.45:
            service.reply(ticket, author=customer, body=f"Update {i}: still waiting. " * 4)
        elif kind < 0.8:
            service.reply(ticket, author=agent, body=f"Reply {i}: see https://example.com/{i}")
        elif kind < 0.9:
            service.reply(ticket, author=agent, body=f"Internal note {i}", public=False)
        else:
            service.change_status(ticket, cycle[i % len(cycle)], actor=agent)
    return ticket.ref, customer.email


def main() -> None:
    app, _tmp = bench_app()
    with app.app_context():
        ref, email = seed()
        clock.freeze(None)
    client = app.test_client()
    client.post("/login", data={"email": email, "password": "bench-password-1"})
    url = f"/tickets/{ref}"
    assert client.get(url).status_code == 200

    samples = timed(lambda: client.get(url), REQUESTS)
    report("timeline_page", samples)
    poll = f"/tickets/{ref}/events?after=999999"
    report(
        "timeline_poll", timed(lambda: client.get(poll, headers={"HX-Request": "true"}), REQUESTS)
    )

    with app.app_context():
        with QueryCounter() as counter:
            client.get(url)
        print(f"timeline_page_queries: {counter.count} queries")
        db.session.remove()


if __name__ == "__main__":
    main()
