"""What one request costs on the routes of bench/load.py, measured in one process.

Under load, wall-clock times say as much about the machine as about the code. This
counts what a request itself does, on the load test's data (10,000 tickets, from
bench/load_seed.py) with its production settings (rate limiting on, counted in
Redis; CSRF on; a signed-in user): CPU milliseconds (process time, median of N),
SQL statements and Redis commands per request. A route that spends little CPU but
many round trips waits on the database or Redis; one that spends much CPU is where
a web worker's time goes.

Run from the repo root: .venv/bin/python bench/request_cost.py [--database postgresql]
SQLite by default (a temporary file); PostgreSQL recreates and drops
`support_bench_cost` on 127.0.0.1:5432. Redis: REDIS_URL, else an embedded one.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
from board import PASSWORD
from common import QueryCounter
from redis.client import Redis
from sqlalchemy import select

ROOT = Path(__file__).resolve().parent.parent
PG_ADMIN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"
DATABASE = "support_bench_cost"
RUNS = 200


class RedisCounter:
    """Counts Redis commands (a pipeline counts once: one round trip)."""

    def __init__(self) -> None:
        self.count = 0
        self._plain = Redis.execute_command

    def __enter__(self) -> RedisCounter:
        counter = self

        def counted(redis, *args, **options):
            counter.count += 1
            return counter._plain(redis, *args, **options)

        Redis.execute_command = counted  # type: ignore[method-assign]
        return self

    def __exit__(self, *exc: object) -> None:
        Redis.execute_command = self._plain  # type: ignore[method-assign]


@contextmanager
def database(kind: str) -> Iterator[str]:
    if kind == "sqlite":
        with tempfile.TemporaryDirectory(prefix="support-cost-") as tmp:
            yield f"sqlite:///{Path(tmp) / 'cost.db'}"
        return
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        admin.execute(f"drop database if exists {DATABASE} with (force)")
        admin.execute(f"create database {DATABASE}")
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{DATABASE}"
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
            admin.execute(f"drop database if exists {DATABASE} with (force)")


def production_env(database_url: str, redis_url: str, instance: str) -> None:
    """The environment bench/load.py gives gunicorn (its generous rate limits included)."""
    from load import GENEROUS_LIMITS

    os.environ.update(
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        SECRET_KEY="cost-bench-secret-" + "x" * 32,
        SUPPORT_ENV="production",
        INSTANCE_PATH=instance,
        BASE_URL="http://127.0.0.1",
        RQ_QUEUE="cost",
        **GENEROUS_LIMITS,
    )


def measure(client, method: str, path: str, data: dict | None = None) -> dict[str, float]:
    """Median CPU ms, SQL statements and Redis commands of one request."""
    cpu: list[float] = []
    for _ in range(20):  # warm caches, compile templates
        client.open(path, method=method, data=data)
    with client.application.app_context(), QueryCounter() as queries, RedisCounter() as commands:
        for _ in range(RUNS):
            started = time.process_time()
            response = client.open(path, method=method, data=data)
            cpu.append((time.process_time() - started) * 1000)
            if response.status_code != 200:  # a redirect to /login would measure nothing
                raise SystemExit(f"{method} {path}: {response.status_code}")
    return {
        "cpu": statistics.median(cpu),
        "queries": queries.count / RUNS,
        "redis": commands.count / RUNS,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    engine = parser.parse_args().database
    from support.jobs.embedded import EmbeddedRedis

    embedded = None if os.environ.get("REDIS_URL") else EmbeddedRedis()
    redis_url = os.environ.get("REDIS_URL") or embedded.start()
    try:
        with database(engine) as url, tempfile.TemporaryDirectory() as instance:
            production_env(url, redis_url, instance)
            run(engine)
    finally:
        if embedded is not None:
            embedded.stop()


def run(engine: str) -> None:
    import load_seed

    from support import create_app, freeze_startup_objects
    from support.extensions import db
    from support.kb.index.store import rebuild
    from support.models import Role, Ticket, User

    app = create_app()
    with app.app_context():
        db.create_all()
    load_seed.main()
    with app.app_context():
        rebuild()
        customer = db.session.scalar(
            select(User).where(User.role == Role.CUSTOMER).order_by(User.id)
        )
        agent = db.session.scalar(select(User).where(User.role == Role.AGENT).order_by(User.id))
        ref = db.session.scalar(
            select(Ticket.ref).where(Ticket.customer_id == customer.id).order_by(Ticket.id)
        )
        customer_email, agent_email = customer.email, agent.email
    freeze_startup_objects()
    app.config["WTF_CSRF_ENABLED"] = False  # the token check itself is cheap; forms are not sent

    routes = {
        "customer": [
            ("get_home", "GET", "/"),
            ("get_kb_search", "GET", "/kb/search?q=refund+not+received"),
            ("get_kb_suggest", "GET", "/kb/suggest?q=my+payout+is+late+help"),
            ("get_tickets_new", "GET", "/tickets/new"),
            ("get_tickets_ref", "GET", f"/tickets/{ref}"),
        ],
        "agent": [("get_board", "GET", "/board")],
    }
    anonymous = app.test_client()
    found = measure(anonymous, "GET", "/healthz")
    print_route(engine, "get_healthz_anonymous", found)
    for who, email in (("customer", customer_email), ("agent", agent_email)):
        client = app.test_client()
        signed_in = client.post("/login", data={"email": email, "password": PASSWORD})
        if signed_in.status_code != 303:
            raise SystemExit(f"{email} could not sign in: {signed_in.status_code}")
        for name, method, path in routes[who]:
            print_route(engine, name, measure(client, method, path))


def print_route(engine: str, name: str, found: dict[str, float]) -> None:
    print(f"{engine}_{name}_cpu_median: {found['cpu']:.2f} ms")
    print(f"{engine}_{name}_sql: {found['queries']:.1f} queries")
    print(f"{engine}_{name}_redis: {found['redis']:.1f} commands")


if __name__ == "__main__":
    sys.exit(main())
