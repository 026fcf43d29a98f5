"""What one request costs on the routes of bench/load.py, measured in one process.

Under load, wall-clock times say as much about the machine as about the code. This
counts what a request itself does, on the load test's data (10,000 tickets, from
bench/load_seed.py) with its production settings (rate limiting on, counted in
Redis; CSRF on; a signed-in user; each request in an app context of its own, as under
gunicorn, so a new session loads the user again and checks a connection out of the
pool): CPU milliseconds (process time, median of N),
SQL statements and Redis commands per request, and on PostgreSQL the server's own
CPU per request (its backends for this process). A route that spends little CPU but
many round trips waits on the database or Redis; one that spends much CPU is where
a web worker's time goes. The forms the load test sends (filing a ticket, a reply,
a move on the board) are measured too, with CSRF on as in production, and the last
line weighs every route as the load's simulated users do (`mix`).

Run from the repo root: .venv/bin/python bench/request_cost.py [--database postgresql]
SQLite by default (a temporary file); PostgreSQL recreates and drops
`support_bench_cost` (`--name` another) on 127.0.0.1:5432. Redis: REDIS_URL, else an
embedded one.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
from board import PASSWORD
from common import QueryCounter
from cpu import cpu_seconds_of
from redis.client import Redis
from sqlalchemy import event, select

from support.extensions import db

ROOT = Path(__file__).resolve().parent.parent
PG_ADMIN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"
DATABASE = "support_bench_cost"
RUNS = 200
# Requests per round of the load's users (bench/load_users.py): 40 customers each search,
# suggest, open the new-ticket form and file half the time, read and reply; 10 agents
# load the board and move a card. A customer's round is ~5 requests, an agent's 2.
MIX = {
    "get_kb_search": 40,
    "get_kb_suggest": 40,
    "get_tickets_new": 20,
    "post_tickets_new": 20,
    "get_tickets_ref": 40,
    "post_reply": 40,
    "get_board": 10 * 5 / 2,  # agents go round faster: 2 requests to a customer's 5
    "post_board_move": 10 * 5 / 2,
}


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


class ServerCpu:
    """PostgreSQL's own CPU seconds: the server processes behind this process's
    connections (SQLite runs in this process: its CPU is in process_time already)."""

    def __init__(self) -> None:
        self.backends: set[int] = set()

    def track(self, engine) -> None:
        if engine.dialect.name != "postgresql":
            return
        engine.dispose()  # every connection from now on is one we know the server pid of

        @event.listens_for(engine, "connect")
        def _backend(dbapi_connection, record) -> None:
            with dbapi_connection.cursor() as cursor:
                cursor.execute("SELECT pg_backend_pid()")
                self.backends.add(cursor.fetchone()[0])

    def seconds(self) -> float:
        return cpu_seconds_of(self.backends)


SERVER = ServerCpu()


@contextmanager
def database(kind: str, name: str = DATABASE) -> Iterator[str]:
    if kind == "sqlite":
        with tempfile.TemporaryDirectory(prefix="support-cost-") as tmp:
            yield f"sqlite:///{Path(tmp) / 'cost.db'}"
        return
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        admin.execute(f"drop database if exists {name} with (force)")
        admin.execute(f"create database {name}")
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
            admin.execute(f"drop database if exists {name} with (force)")


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


def measure(
    client,
    method: str,
    path: str,
    data: Callable[[], dict] | None = None,
    expect: int = 200,
) -> dict[str, float]:
    """Median CPU ms, SQL statements and Redis commands of one request (and the
    database server's mean CPU ms). `data` makes each request's form (a new client
    token for each filing); `expect` is the status every answer must have."""
    cpu: list[float] = []

    def send(form: dict | None) -> None:
        response = client.open(path, method=method, data=form)
        if response.status_code != expect:  # a redirect to /login would measure nothing
            raise SystemExit(f"{method} {path}: {response.status_code}")

    for _ in range(20):  # warm caches, compile templates
        send(data() if data else None)
    server = 0.0
    statements = commands_sent = 0
    with client.application.app_context():
        engine = db.engine
    # No app context held around the requests: each one pushes its own, as under gunicorn,
    # so it gets a new session (the user loaded again, settings read once per transaction
    # read again) and checks its connection out of the pool (pre-ping) and back in.
    with QueryCounter(engine) as queries, RedisCounter() as commands:
        for _ in range(RUNS):
            form = data() if data else None  # not counted: it may read the database
            before = (queries.count, commands.count, SERVER.seconds())
            started = time.process_time()
            send(form)
            cpu.append((time.process_time() - started) * 1000)
            server += SERVER.seconds() - before[2]
            statements += queries.count - before[0]
            commands_sent += commands.count - before[1]
    return {
        "cpu": statistics.median(cpu),
        "cpu_mean": statistics.fmean(cpu),
        "db_cpu": server * 1000 / RUNS,
        "queries": statements / RUNS,
        "redis": commands_sent / RUNS,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument(
        "--name", default=DATABASE, help=f"PostgreSQL database to recreate (default {DATABASE})"
    )
    args = parser.parse_args()
    engine = args.database
    from support.jobs.embedded import EmbeddedRedis

    embedded = None if os.environ.get("REDIS_URL") else EmbeddedRedis()
    redis_url = os.environ.get("REDIS_URL") or embedded.start()
    try:
        with database(engine, args.name) as url, tempfile.TemporaryDirectory() as instance:
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
    with app.app_context():
        SERVER.track(db.engine)
    freeze_startup_objects()

    anonymous = app.test_client()
    found = measure(anonymous, "GET", "/healthz")
    print_route(engine, "get_healthz_anonymous", found)
    customer = signed_in(app, customer_email)
    token = csrf_token(customer, "/tickets/new")
    filing = {
        "subject": "Load test: refund not received",
        "description": "Please help: refund not received. " * 5,
        "category": "payments",
        "impact": "just_me",
    }
    routes: list[tuple[str, object, str, str, Callable[[], dict] | None, int]] = [
        ("get_home", customer, "GET", "/", None, 200),
        ("get_kb_search", customer, "GET", "/kb/search?q=refund+not+received", None, 200),
        ("get_kb_suggest", customer, "GET", "/kb/suggest?q=my+payout+is+late+help", None, 200),
        ("get_tickets_new", customer, "GET", "/tickets/new", None, 200),
        ("post_tickets_new", customer, "POST", "/tickets/new", lambda: new(filing, token), 303),
        ("get_tickets_ref", customer, "GET", f"/tickets/{ref}", None, 200),
    ]
    reply = {"body": "Any update on this? " * 3}
    routes.append(
        ("post_reply", customer, "POST", f"/tickets/{ref}/reply", lambda: new(reply, token), 303)
    )
    agent = signed_in(app, agent_email)
    routes.append(("get_board", agent, "GET", "/board", None, 200))
    routes.append(("post_board_move", agent, "POST", "/board/move", board_move(app, agent), 303))
    found_by_route = {}
    for name, client, method, path, data, expect in routes:
        found_by_route[name] = measure(client, method, path, data, expect)
        print_route(engine, name, found_by_route[name])
    print_mix(engine, found_by_route)


def signed_in(app, email: str):
    client = app.test_client()
    token = csrf_token(client, "/login")
    answer = client.post("/login", data={"email": email, "password": PASSWORD, "csrf_token": token})
    if answer.status_code != 303:
        raise SystemExit(f"{email} could not sign in: {answer.status_code}")
    return client


def csrf_token(client, path: str) -> str:
    """The session's CSRF token, from a page's form (CSRF is on, as in production)."""
    found = re.search(r'name="csrf_token"[^>]*value="([^"]*)"', client.get(path).text)
    if not found:
        raise SystemExit(f"no CSRF token on {path}")
    return found.group(1)


def new(form: dict, token: str) -> dict:
    """The form with the session's CSRF token and a client token of its own (each one
    is a new ticket or reply, not a resend)."""
    return {**form, "csrf_token": token, "client_token": uuid.uuid4().hex}


def board_move(app, agent) -> Callable[[], dict]:
    """Moves one open ticket to "pending" and back, each time at its current version."""
    from support.extensions import db
    from support.models import Status, Ticket

    token = csrf_token(agent, "/board")
    with app.app_context():
        ref = db.session.scalar(
            select(Ticket.ref).where(Ticket.status == Status.OPEN).order_by(Ticket.id)
        )

    def form() -> dict:
        with app.app_context():
            status, version = db.session.execute(
                select(Ticket.status, Ticket.version).where(Ticket.ref == ref)
            ).one()
        target = "pending" if status == Status.OPEN else "open"
        return {"csrf_token": token, "ref": ref, "status": target, "version": version}

    return form


def print_route(engine: str, name: str, found: dict[str, float]) -> None:
    print(f"{engine}_{name}_cpu_median: {found['cpu']:.2f} ms")
    if SERVER.backends:
        print(f"{engine}_{name}_db_cpu_mean: {found['db_cpu']:.2f} ms")
    print(f"{engine}_{name}_sql: {found['queries']:.1f} queries")
    print(f"{engine}_{name}_redis: {found['redis']:.1f} commands")


def print_mix(engine: str, found: dict[str, dict[str, float]]) -> None:
    """CPU per request weighted as the load's users send them (MIX): what 140 requests/s
    of bench/load.py ask of the web workers, and of PostgreSQL."""
    weight = sum(MIX.values())
    web = sum(found[name]["cpu_mean"] * n for name, n in MIX.items()) / weight
    print(f"{engine}_mix_cpu_mean: {web:.2f} ms")
    if SERVER.backends:
        server = sum(found[name]["db_cpu"] * n for name, n in MIX.items()) / weight
        print(f"{engine}_mix_db_cpu_mean: {server:.2f} ms")


if __name__ == "__main__":
    sys.exit(main())
