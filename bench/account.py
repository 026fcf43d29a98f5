"""My account and times in the reader's zone: latency and SQL queries per request.

Run from the repo root: .venv/bin/python bench/account.py
Prints /account (an agent, every section) and the 500-event ticket page read by a
customer whose time zone is Europe/Paris (every time converted and named), so the
cost of showing times in the reader's zone is seen against SPEC §9's 25 ms.
"""

from __future__ import annotations

from common import QueryCounter, bench_app, report, timed
from timeline import seed

from support.auth import accounts
from support.extensions import db
from support.models import Role

REQUESTS = 200
PASSWORD = "bench-password-1"


def main() -> None:
    app, _tmp = bench_app()
    with app.app_context():
        ref, email = seed()
        accounts.find_by_email(email).time_zone = "Europe/Paris"
        accounts.create_user(
            email="bench-admin@example.com",
            name="Bench Admin",
            password=PASSWORD,
            role=Role.ADMIN,
            tier=3,
        )
        db.session.commit()
    customer, admin = app.test_client(), app.test_client()
    customer.post("/login", data={"email": email, "password": PASSWORD})
    admin.post("/login", data={"email": "bench-admin@example.com", "password": PASSWORD})
    ticket = f"/tickets/{ref}"
    assert "(Europe/Paris)" in customer.get(ticket).text
    assert admin.get("/account").status_code == 200

    report("account_page", timed(lambda: admin.get("/account"), REQUESTS))
    report("timeline_page_in_reader_zone", timed(lambda: customer.get(ticket), REQUESTS))
    with app.app_context():
        with QueryCounter() as counter:
            admin.get("/account")
        print(f"account_page_queries: {counter.count} queries")
        db.session.remove()


if __name__ == "__main__":
    main()
