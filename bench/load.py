"""Sustained load on a production-shaped deployment, and a check that nothing was lost.

PostgreSQL (127.0.0.1:5432, trust auth; database `support_load` is recreated),
Redis (REDIS_URL, else an embedded one), gunicorn with 4 workers, 2 RQ workers,
and an SMTP server on loopback. 10,000 tickets are seeded; then for 60 s, 50
simulated users — customers searching the knowledge base, filing tickets,
reading timelines and replying; agents loading the board and moving cards.
Afterwards: every filed ticket exists once, has its acknowledgement sent once,
every reply is stored once, and every accepted move is on its timeline.

Run from the repo root: .venv/bin/python bench/load.py  (about 3 minutes)
"""

from __future__ import annotations

import http.client
import os
import random
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import psycopg
from aiosmtpd.controller import Controller

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
PG_ADMIN = "host=127.0.0.1 port=5432 user=postgres dbname=test"
DATABASE = "support_load"
DURATION = 60
CUSTOMERS, AGENTS = 40, 10
PASSWORD = "bench-password-1"
SEARCHES = [
    "refund not received",
    "charged twice",
    "cant log in",
    "parcel lost",
    "change email address",
    "payout pending",
    "delete my data",
    "two step code",
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Mailbox:
    def __init__(self) -> None:
        self.message_ids: list[str] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        found = re.search(rb"^Message-ID: (\S+)", envelope.content, re.M | re.I)
        with self.lock:
            self.message_ids.append(found.group(1).decode() if found else "")
        return "250 OK"


class Client:
    """A browser-ish HTTP client: cookies, CSRF tokens from pages, timings per route."""

    def __init__(self, base: str, stats: Stats) -> None:
        self.host, self.port = urlsplit(base).hostname, urlsplit(base).port
        self.cookies: dict[str, str] = {}
        self.stats = stats

    def request(self, method: str, path: str, route: str, form: dict | None = None):
        body = urlencode(form) if form is not None else None
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        start = time.perf_counter()
        conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
        try:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            text = response.read().decode("utf-8", "replace")
        except OSError:
            self.stats.add(route, time.perf_counter() - start, 599)
            return 599, "", {}
        finally:
            conn.close()
        self.stats.add(route, time.perf_counter() - start, response.status)
        for value in response.headers.get_all("Set-Cookie") or []:
            name, _, rest = value.partition("=")
            self.cookies[name] = rest.split(";", 1)[0]
        return response.status, text, dict(response.headers)

    @staticmethod
    def field(html: str, name: str) -> str:
        found = re.search(rf'name="{name}"[^>]*value="([^"]*)"', html)
        return found.group(1) if found else ""

    def login(self, email: str) -> None:
        _, html, _ = self.request("GET", "/login", "GET /login")
        form = {"csrf_token": self.field(html, "csrf_token"), "email": email, "password": PASSWORD}
        self.request("POST", "/login", "POST /login", form)


class Stats:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.times: dict[str, list[float]] = defaultdict(list)
        self.codes: dict[str, Counter] = defaultdict(Counter)

    def add(self, route: str, seconds: float, status: int) -> None:
        with self.lock:
            self.times[route].append(seconds * 1000)
            self.codes[route][status] += 1


class Ledger:
    """What the simulated users were told succeeded, to check against the database."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.filed: dict[str, str] = {}  # client token -> ref
        self.replies: list[tuple[str, str]] = []  # (ref, client token)
        self.moves: list[tuple[str, str, str]] = []  # (ref, status, agent email)

    def record(self, kind: str, item) -> None:
        with self.lock:
            if kind == "filed":
                self.filed[item[0]] = item[1]
            else:
                getattr(self, kind).append(item)


def customer(base: str, email: str, stats: Stats, ledger: Ledger, until: float) -> None:
    client, rng = Client(base, stats), random.Random(email)
    client.login(email)
    mine: list[str] = []
    while time.monotonic() < until:
        q = rng.choice(SEARCHES)
        client.request("GET", "/kb/search?" + urlencode({"q": q}), "GET /kb/search")
        client.request("GET", "/kb/suggest?" + urlencode({"q": q + " help"}), "GET /kb/suggest")
        if rng.random() < 0.5 or not mine:
            _, html, _ = client.request("GET", "/tickets/new", "GET /tickets/new")
            token = client.field(html, "client_token")
            form = {
                "csrf_token": client.field(html, "csrf_token"),
                "client_token": token,
                "subject": f"Load test: {q}",
                "description": f"Please help: {q}. " * 5,
                "category": "payments",
                "impact": "just_me",
            }
            status, _, headers = client.request("POST", "/tickets/new", "POST /tickets/new", form)
            if status == 303:
                ref = headers.get("Location", "").rstrip("/").split("/")[-2]
                ledger.record("filed", (token, ref))
                mine.append(ref)
        ref = rng.choice(mine)
        _, html, _ = client.request("GET", f"/tickets/{ref}", "GET /tickets/<ref>")
        token = client.field(html, "client_token")
        form = {
            "csrf_token": client.field(html, "csrf_token"),
            "client_token": token,
            "body": "Any update on this? " * 3,
        }
        status, _, _ = client.request("POST", f"/tickets/{ref}/reply", "POST reply", form)
        if status == 303:
            ledger.record("replies", (ref, token))


CARD = re.compile(r'data-ref="(SUP-[A-Z0-9]+)" data-version="(\d+)"')
MOVABLE = ["open", "pending", "on_hold"]


def agent(base: str, email: str, stats: Stats, ledger: Ledger, until: float) -> None:
    client, rng = Client(base, stats), random.Random(email)
    client.login(email)
    while time.monotonic() < until:
        _, html, _ = client.request("GET", "/board", "GET /board")
        columns = dict(re.findall(r'data-status="(\w+)"[^>]*>(.*?)</ol>', html, re.S))
        source = rng.choice(MOVABLE)
        cards = CARD.findall(columns.get(source, ""))
        if not cards:
            continue
        ref, version = rng.choice(cards)
        target = rng.choice([s for s in MOVABLE if s != source])
        form = {
            "csrf_token": client.field(html, "csrf_token"),
            "ref": ref,
            "status": target,
            "version": version,
        }
        status, _, _ = client.request("POST", "/board/move", "POST /board/move", form)
        if status == 303:
            ledger.record("moves", (ref, target, email))


def hammer(base: str, seconds: float, threads: int = 50) -> float:
    """Requests per second of GET / with `threads` clients for `seconds`."""
    stats, until = Stats(), time.monotonic() + seconds

    def loop() -> None:
        client = Client(base, stats)
        while time.monotonic() < until:
            client.request("GET", "/", "GET /")

    workers = [threading.Thread(target=loop) for _ in range(threads)]
    start = time.monotonic()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return len(stats.times["GET /"]) / (time.monotonic() - start)


def wait_for(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    parts = urlsplit(url)
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=2)
            conn.request("GET", parts.path or "/")
            if conn.getresponse().status < 500:
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not come up")


def recreate_database() -> str:
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {DATABASE}")
    return f"postgresql+psycopg://postgres@127.0.0.1:5432/{DATABASE}"


def main() -> None:
    try:
        database_url = recreate_database()
    except psycopg.OperationalError as exc:
        print(f"PostgreSQL not reachable at 127.0.0.1:5432 ({exc}); skipped.")
        return
    tmp = Path(tempfile.mkdtemp(prefix="support-load-"))
    mailbox = Mailbox()
    smtp = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    smtp.start()
    embedded = None
    redis_url = os.environ.get("REDIS_URL")
    if not redis_url:
        sys.path.insert(0, str(ROOT))
        from support.jobs.embedded import EmbeddedRedis

        embedded = EmbeddedRedis()
        redis_url = embedded.start()
    port = free_port()
    env = dict(
        os.environ,
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        SECRET_KEY="load-test-secret",
        SUPPORT_ENV="demo",
        INSTANCE_PATH=str(tmp),
        MAIL_SERVER="127.0.0.1",
        MAIL_PORT=str(smtp.port),
        RATELIMIT_ENABLED="0",
        BASE_URL=f"http://127.0.0.1:{port}",
        RQ_QUEUE="load",
    )
    flask = [str(BIN / "flask"), "--app", "app"]
    processes: list[subprocess.Popen] = []
    try:
        subprocess.run(
            [*flask, "db", "upgrade"], cwd=ROOT, env=env, check=True, capture_output=True
        )
        seed_started = time.monotonic()
        subprocess.run(
            [sys.executable, str(ROOT / "bench" / "load_seed.py")], cwd=ROOT, env=env, check=True
        )
        print(f"load_seed: {time.monotonic() - seed_started:.1f} s")
        subprocess.run([*flask, "kb", "index"], cwd=ROOT, env=env, check=True, capture_output=True)
        quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
        web_log = tmp / "gunicorn-error.log"
        processes.append(
            subprocess.Popen(
                [
                    *(str(BIN / "gunicorn"), "-w", "4", "-b", f"127.0.0.1:{port}"),
                    *("--error-logfile", str(web_log), "app:app"),
                ],
                cwd=ROOT,
                env=env,
                **quiet,
            )
        )
        for _ in range(2):
            processes.append(subprocess.Popen([*flask, "worker"], cwd=ROOT, env=env, **quiet))
        base = f"http://127.0.0.1:{port}"
        wait_for(base + "/healthz")

        stats, ledger = Stats(), Ledger()
        until = time.monotonic() + DURATION
        users = [
            threading.Thread(
                target=customer, args=(base, f"c{i}@example.com", stats, ledger, until)
            )
            for i in range(CUSTOMERS)
        ]
        users += [
            threading.Thread(
                target=agent, args=(base, f"agent{i}@example.com", stats, ledger, until)
            )
            for i in range(AGENTS)
        ]
        started = time.monotonic()
        for user in users:
            user.start()
        for user in users:
            user.join()
        elapsed = time.monotonic() - started
        report(stats, elapsed)
        report_server_errors(web_log)
        drain(env)
        check(database_url, ledger, mailbox)
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=20)
    ceiling_port = free_port()
    hello = subprocess.Popen(
        [str(BIN / "gunicorn"), "-w", "4", "-b", f"127.0.0.1:{ceiling_port}", "hello_app:app"],
        cwd=ROOT / "bench",
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(f"http://127.0.0.1:{ceiling_port}/")
        print(f"ceiling_trivial_route: {hammer(f'http://127.0.0.1:{ceiling_port}', 10):.1f} req/s")
    finally:
        hello.terminate()
        hello.wait(timeout=20)
        smtp.stop()
        if embedded is not None:
            embedded.stop()


def report(stats: Stats, elapsed: float) -> None:
    total = errors_5xx = 0
    for route in sorted(stats.times):
        times = stats.times[route]
        total += len(times)
        errors_5xx += sum(n for code, n in stats.codes[route].items() if 500 <= code < 599)
        slug = re.sub(r"[^a-z0-9]+", "_", route.lower()).strip("_")
        p99 = statistics.quantiles(times, n=100)[98] if len(times) > 1 else times[0]
        print(f"{slug}_rps: {len(times) / elapsed:.1f} req/s")
        print(f"{slug}_median: {statistics.median(times):.1f} ms")
        print(f"{slug}_p99: {p99:.1f} ms")
        refused = sum(n for code, n in stats.codes[route].items() if 400 <= code < 500)
        failed = sum(n for code, n in stats.codes[route].items() if 500 <= code < 599)
        dropped = stats.codes[route][599]  # no answer at all (connection refused, timeout)
        if dropped:
            print(f"{slug}_no_answer: {dropped} requests")
        if refused:
            print(f"{slug}_4xx: {refused} responses")
        if failed:
            print(f"{slug}_5xx: {failed} responses")
    print(f"load_total_rps: {total / elapsed:.1f} req/s")
    print(f"load_5xx: {errors_5xx} responses")


def report_server_errors(log: Path) -> None:
    """A 5xx is a bug: show the tracebacks the web workers logged, so it can be fixed."""
    text = log.read_text(errors="replace") if log.exists() else ""
    tracebacks = re.findall(r"^Traceback.*?(?=^\[\d{4}-|\Z)", text, re.M | re.S)
    print(f"server_tracebacks: {len(tracebacks)} tracebacks")
    for traceback, seen in Counter(t.strip()[-2000:] for t in tracebacks).most_common(3):
        print(f"--- logged {seen} time(s):\n{traceback}", file=sys.stderr)


def drain(env: dict, timeout: float = 120) -> None:
    """Let the two workers empty the queue (acknowledgements, notifications)."""
    from redis import Redis
    from rq import Queue

    queue = Queue(env["RQ_QUEUE"], connection=Redis.from_url(env["REDIS_URL"]))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and (queue.count or queue.started_job_registry.count):
        time.sleep(1)


def check(database_url: str, ledger: Ledger, mailbox: Mailbox) -> None:
    dsn = database_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn) as conn:
        tokens = list(ledger.filed)
        rows = conn.execute(
            "SELECT client_token, count(*) FROM tickets WHERE client_token = "
            "ANY(%s) GROUP BY client_token",
            (tokens,),
        ).fetchall()
        once = sum(1 for _, n in rows if n == 1)
        refs = list(ledger.filed.values())
        acks = conn.execute(
            "SELECT count(*) FROM outbox_messages WHERE kind = 'ack' AND "
            "status = 'sent' AND idempotency_key = ANY(%s)",
            ([f"ack:{r}" for r in refs],),
        ).fetchone()[0]
        reply_tokens = [t for _, t in ledger.replies]
        replies = conn.execute(
            "SELECT count(*) FROM ticket_events WHERE client_token = ANY(%s)", (reply_tokens,)
        ).fetchone()[0]
        moves_found = 0
        for ref, status, email in ledger.moves:
            moves_found += conn.execute(
                "SELECT count(*) > 0 FROM ticket_events e JOIN tickets t ON t.id = e.ticket_id "
                "JOIN users u ON u.id = e.actor_id WHERE t.ref = %s AND u.email = %s AND "
                "e.kind = 'status_changed' AND e.data->>'to' = %s",
                (ref, email, status),
            ).fetchone()[0]
    received = Counter(mailbox.message_ids)
    ack_ids = {f"<{ref}@localhost>" for ref in refs}
    print(f"filed_tickets: {len(tokens)} tickets")
    print(f"filed_tickets_stored_once: {once} tickets")
    print(f"acks_sent_once: {acks} messages")
    print(f"acks_received_by_smtp: {sum(1 for m in ack_ids if received[m] == 1)} messages")
    print(f"emails_duplicated: {sum(1 for n in received.values() if n > 1)} messages")
    print(f"replies_accepted: {len(reply_tokens)} replies")
    print(f"replies_stored_once: {replies} replies")
    print(f"moves_accepted: {len(ledger.moves)} moves")
    print(f"moves_on_timeline: {moves_found} moves")


if __name__ == "__main__":
    main()
