"""Sustained load on a production-shaped deployment, and a check that nothing was lost.

PostgreSQL (127.0.0.1:5432, trust auth; database `support_load` is recreated),
Redis (REDIS_URL, else an embedded one), gunicorn with 3 workers, 2 RQ workers,
and an SMTP server on loopback. 10,000 tickets are seeded; then for 60 s, 50
simulated users — customers searching the knowledge base, filing tickets,
reading timelines and replying; agents loading the board and moving cards.
Rate limiting is on (counted in Redis, on the hot path) with limits set high
enough never to refuse a simulated user. Every user signs in first; the 60 s (and
every figure but the `sign_in_` ones) start once all are in, so the password
checks of 50 sign-ins at once are measured on their own, not spread over the run.

Afterwards every ticket carrying a client token in the database is compared with
the clients' ledger (so one committed after a client gave up is checked too):
each exists once, has its acknowledgement sent and received once; every accepted
reply is stored once and every accepted move is on its timeline. The bar — no
5xx, no request left unanswered, nothing lost or duplicated, no simulated user
dead — is checked last: the exit status is 1 when it is missed.

Run from the repo root: .venv/bin/python bench/load.py  (about 3 minutes)
A shorter run, to check the script itself: LOAD_DURATION=10 .venv/bin/python bench/load.py
(or --duration 10).

By default every user sends its next request as soon as the last one is answered:
that measures the ceiling, and at the ceiling every request waits in line (50
users at 230 req/s wait 50/230 = 217 ms on average, Little's law, however fast a
page is). `--rate R` gives each user a schedule of random (Poisson) moments that
together make R requests per second: the latency at that rate. A user whose answer
comes late sends its next request at once and catches up, so R is sent as long as
the server keeps up; `load_behind_*` say how late requests left their schedule
(a server that does not keep up shows there, not as a lower rate sent). Users stop
when the window ends, so every request counted began inside it.

It also prints the CPU seconds each kind of process spent during the load
(bench/cpu.py: web workers, RQ workers, PostgreSQL, Redis, the load generator),
and with --profile the busiest functions of one web worker, sampled by py-spy.
"""

from __future__ import annotations

import argparse
import http.client
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from pathlib import Path
from urllib.parse import urlsplit

import psutil
import psycopg
from aiosmtpd.controller import Controller
from cpu import CpuMeter, is_ours, print_breakdown, profile_process
from load_users import Ledger, hammer, report, sign_everyone_in

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
PG_ADMIN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"
DATABASE = "support_load"
DURATION = 60  # seconds of load; LOAD_DURATION or --duration for a shorter check
# High enough that no simulated user is refused (all of them share 127.0.0.1), so the
# limiter's Redis round trips are measured without changing what the users can do.
GENEROUS_LIMITS = {
    "RATELIMIT_ENABLED": "1",
    "RATELIMIT_LOGIN": "100000/minute",
    "RATELIMIT_LOGIN_ADDRESS": "100000/minute",
    "RATELIMIT_REGISTER": "100000/hour",
    "RATELIMIT_TICKETS": "100000/hour",
    "RATELIMIT_SEARCH": "100000/minute",
}
CUSTOMERS, AGENTS = 40, 10
WEB_WORKERS = 3  # as deploy/gunicorn.conf.py gives a 2-core machine


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


def wait_for(url: str, timeout: float = 240) -> None:
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


def recreate_database(name: str = DATABASE) -> str:
    if not re.fullmatch(r"[a-z_][a-z0-9_]*", name):
        raise SystemExit(f"--database {name!r}: letters, digits and _ only")
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {name}")
    return f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--duration",
        type=float,
        default=float(os.environ.get("LOAD_DURATION") or DURATION),
        help=f"seconds of load (default: LOAD_DURATION or {DURATION})",
    )
    parser.add_argument(
        "--rate",
        type=float,
        default=None,
        help="requests per second all users together aim at (default: as fast as answered)",
    )
    parser.add_argument(
        "--database",
        default=DATABASE,
        help=f"PostgreSQL database to recreate (default {DATABASE}; one per concurrent run)",
    )
    parser.add_argument(
        "--web-workers",
        type=int,
        default=WEB_WORKERS,
        help=f"gunicorn worker processes (default {WEB_WORKERS})",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="threads per gunicorn worker (more than 1: the gthread worker class)",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="also sample one gunicorn worker with py-spy and print its busiest functions",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    duration = args.duration
    try:
        database_url = recreate_database(args.database)
    except psycopg.OperationalError as exc:
        print(f"PostgreSQL not reachable at 127.0.0.1:5432 ({exc}); skipped.")
        return 0
    tmp = Path(tempfile.mkdtemp(prefix="support-load-"))
    mailbox = Mailbox()
    smtp = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    embedded = None
    missed: list[str] = ["the run did not finish"]
    try:
        smtp.start()
        redis_url = os.environ.get("REDIS_URL")
        if not redis_url:
            sys.path.insert(0, str(ROOT))
            from support.jobs.embedded import EmbeddedRedis

            embedded = EmbeddedRedis()
            redis_url = embedded.start()
        web = web_command(args.web_workers, args.threads)
        print(f"load_web: {' '.join(web[1:])}")
        missed = run(
            duration,
            database_url,
            redis_url,
            smtp.port,
            mailbox,
            tmp,
            web,
            args.rate,
            args.profile,
            embedded.pid if embedded is not None else None,
        )
        ceiling()
    finally:
        smtp.stop()
        if embedded is not None:
            embedded.stop()
        if not missed:
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            print(f"Logs kept in {tmp}", file=sys.stderr)
    print(f"load_bar_missed: {len(missed)} checks")
    for reason in missed:
        print(f"missed: {reason}", file=sys.stderr)
    return 1 if missed else 0


def run(
    duration: float,
    database_url: str,
    redis_url: str,
    smtp_port: int,
    mailbox: Mailbox,
    tmp: Path,
    web: list[str],
    rate: float | None = None,
    profile: bool = False,
    embedded_redis: int | None = None,
) -> list[str]:
    """The deployment under load, then the checks: what of the bar was missed."""
    port = free_port()
    env = dict(
        os.environ,
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        SECRET_KEY="load-test-secret-" + "x" * 32,
        SUPPORT_ENV="production",
        INSTANCE_PATH=str(tmp),
        MAIL_SERVER="127.0.0.1",
        MAIL_PORT=str(smtp_port),
        BASE_URL=f"http://127.0.0.1:{port}",
        RQ_QUEUE="load",
        **GENEROUS_LIMITS,
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
        meter = CpuMeter(postgres_database=urlsplit(database_url).path.lstrip("/"))
        if embedded_redis is not None:  # ours: by pid, not every redis-server on the machine
            del meter.by_name["redis-server"]
            meter.track(embedded_redis, "redis")
        processes.append(
            subprocess.Popen(
                [*web, "-b", f"127.0.0.1:{port}", "--error-logfile", str(web_log), "app:app"],
                cwd=ROOT,
                env=env,
                **quiet,
            )
        )
        meter.track(processes[-1].pid, "web (gunicorn)")
        for _ in range(2):
            processes.append(subprocess.Popen([*flask, "worker"], cwd=ROOT, env=env, **quiet))
            meter.track(processes[-1].pid, "rq workers")
        base = f"http://127.0.0.1:{port}"
        wait_for(base + "/healthz")

        pace = (CUSTOMERS + AGENTS) / rate if rate else None
        crowd = sign_everyone_in(base, CUSTOMERS, AGENTS, duration, pace, meter)
        meter = meter.again()
        meter.start()
        started = crowd.stats.window[0]  # set as the users were let go
        profiler = start_profile(processes[0].pid, duration, tmp) if profile else None
        stats, ledger = crowd.stats, crowd.ledger
        for user in crowd.users:
            user.join()
        elapsed = time.monotonic() - started
        cpu = meter.stop()
        print(f"load_duration: {elapsed:.1f} s")
        figures = report(stats, elapsed)
        figures["load_5xx"] += crowd.signing_in.failed()
        figures["load_timeouts"] += crowd.signing_in.unanswered()
        print_breakdown(cpu, elapsed)
        if profiler is not None:
            profiler.join()
        report_server_errors(web_log)
        drain(env)
        figures |= check(database_url, ledger, mailbox)
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=20)
    return bar(figures)


def web_command(workers: int, threads: int) -> list[str]:
    """gunicorn with the production config (deploy/gunicorn.conf.py), these overriding it."""
    command = [str(BIN / "gunicorn"), "-c", str(ROOT / "deploy" / "gunicorn.conf.py")]
    command += ["-w", str(workers)]
    if threads > 1:
        command += ["-k", "gthread", "--threads", str(threads)]
    return command


def start_profile(gunicorn: int, duration: float, tmp: Path) -> threading.Thread:
    """py-spy on one gunicorn worker over the middle half of the run (the users are
    signed in by then), printed when it ends."""

    def record() -> None:
        time.sleep(duration / 4)
        workers = psutil.Process(gunicorn).children()
        if not workers:
            return
        found = profile_process(
            workers[0].pid, max(duration / 2, 1), tmp / "web-worker.txt", keep=is_ours
        )
        if found is None:
            print(
                "# py-spy could not sample a web worker (missing, or ptrace refused)",
                file=sys.stderr,
            )
            return
        print(f"web_profile_samples: {found.samples} samples")
        for rank, (frame, share) in enumerate(found.own, 1):
            print(f"web_profile_own_{rank}: {share:.1f} % {frame}")
        for rank, (frame, share) in enumerate(found.inclusive, 1):
            print(f"web_profile_ours_{rank}: {share:.1f} % {frame}")

    thread = threading.Thread(target=record, daemon=True)
    thread.start()
    return thread


BAR = {
    "load_5xx": "responses with a 5xx status",
    "load_timeouts": "requests with no answer (refused or timed out)",
    "load_429": "requests refused by the rate limiter (its limits are set never to bind)",
    "load_dead_users": "simulated users that died (could not sign in, or crashed)",
    "load_lost_tickets": "filings answered 303 but not in the database",
    "load_duplicated_tickets": "extra tickets for one client token",
    "load_unexpected_tickets": "tickets with a client token nobody sent",
    "load_missing_acks": "tickets without exactly one acknowledgement sent and received",
    "load_duplicate_acks": "acknowledgements received more than once",
    "load_lost_replies": "replies answered 303 but not stored",
    "load_duplicated_replies": "extra events for one reply's client token",
    "load_lost_moves": "moves answered 303 but not on the timeline",
}


def bar(figures: dict[str, int]) -> list[str]:
    """Zero 5xx and zero lost or duplicated work (and a run that really ran)."""
    return [f"{name} = {figures[name]}: {what}" for name, what in BAR.items() if figures[name]]


def ceiling() -> None:
    """Requests per second of a trivial Flask route on the same gunicorn setup."""
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


def report_server_errors(log: Path) -> None:
    """A 5xx is a bug: show the tracebacks the web workers logged, so it can be fixed."""
    text = log.read_text(errors="replace") if log.exists() else ""
    tracebacks = re.findall(r"^Traceback.*?(?=^\[\d{4}-|\Z)", text, re.M | re.S)
    print(f"server_tracebacks: {len(tracebacks)} tracebacks")
    for logged, seen in Counter(t.strip()[-2000:] for t in tracebacks).most_common(3):
        print(f"--- logged {seen} time(s):\n{logged}", file=sys.stderr)


def drain(env: dict, timeout: float = 120) -> None:
    """Let the two workers empty the queue (acknowledgements, notifications)."""
    from redis import Redis
    from rq import Queue

    queue = Queue(env["RQ_QUEUE"], connection=Redis.from_url(env["REDIS_URL"]))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and (queue.count or queue.started_job_registry.count):
        time.sleep(1)


def check(database_url: str, ledger: Ledger, mailbox: Mailbox) -> dict[str, int]:
    """Every ticket, reply and move of the run in the database, against the clients' ledger."""
    dsn = database_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn) as conn:
        # The seed files nothing with a client token: these are the run's, all of them.
        tickets = conn.execute(
            "SELECT t.client_token, t.ref, o.status, o.message_id FROM tickets t "
            "LEFT JOIN outbox_messages o ON o.idempotency_key = 'ack:' || t.ref "
            "WHERE t.client_token IS NOT NULL"
        ).fetchall()
        reply_rows = conn.execute(
            "SELECT client_token, count(*) FROM ticket_events "
            "WHERE client_token IS NOT NULL GROUP BY client_token"
        ).fetchall()
        move_rows = conn.execute(
            "SELECT t.ref, u.email, e.data->>'to', count(*) FROM ticket_events e "
            "JOIN tickets t ON t.id = e.ticket_id JOIN users u ON u.id = e.actor_id "
            "WHERE e.kind = 'status_changed' GROUP BY t.ref, u.email, e.data->>'to'"
        ).fetchall()
    refs_by_token: dict[str, list[str]] = defaultdict(list)
    for token, ref, _, _ in tickets:
        refs_by_token[token].append(ref)
    lost = sum(1 for token, ref in ledger.filed.items() if ref not in refs_by_token.get(token, []))
    duplicated = sum(len(refs) - 1 for refs in refs_by_token.values())
    unexpected = sum(1 for token in refs_by_token if token not in ledger.tried)
    late = sum(1 for token in refs_by_token if token in ledger.tried and token not in ledger.filed)

    received = Counter(mailbox.message_ids)
    missing_acks = duplicate_acks = 0
    for _, _, status, message_id in tickets:
        copies = received[message_id] if message_id else 0
        missing_acks += status != "sent" or copies == 0
        duplicate_acks += copies > 1

    stored = dict(reply_rows)
    lost_replies = sum(1 for _, token in ledger.replies if token not in stored)
    duplicated_replies = sum(n - 1 for n in stored.values() if n > 1)
    unexpected_replies = sum(1 for token in stored if token not in ledger.reply_tokens)

    on_timeline = {(ref, to, email): n for ref, email, to, n in move_rows}  # as in the ledger
    accepted = Counter(ledger.moves)
    lost_moves = sum(max(0, n - on_timeline.get(move, 0)) for move, n in accepted.items())

    figures = {
        "load_lost_tickets": lost,
        "load_duplicated_tickets": duplicated,
        "load_unexpected_tickets": unexpected,
        "load_missing_acks": missing_acks,
        "load_duplicate_acks": duplicate_acks,
        "load_lost_replies": lost_replies,
        "load_duplicated_replies": duplicated_replies + unexpected_replies,
        "load_lost_moves": lost_moves,
    }
    print(f"filings_sent: {len(ledger.tried)} filings")
    print(f"filings_accepted: {len(ledger.filed)} tickets")
    print(f"tickets_in_database: {len(tickets)} tickets")
    print(f"tickets_stored_after_the_client_gave_up: {late} tickets")
    print(f"load_lost_tickets: {lost} tickets")
    print(f"load_duplicated_tickets: {duplicated} tickets")
    print(f"load_unexpected_tickets: {unexpected} tickets")
    print(f"acks_sent_and_received_once: {len(tickets) - missing_acks - duplicate_acks} messages")
    print(f"load_missing_acks: {missing_acks} messages")
    print(f"load_duplicate_acks: {duplicate_acks} messages")
    print(f"emails_duplicated: {sum(1 for n in received.values() if n > 1)} messages")
    print(f"replies_accepted: {len(ledger.replies)} replies")
    print(f"load_lost_replies: {lost_replies} replies")
    print(f"load_duplicated_replies: {figures['load_duplicated_replies']} replies")
    print(f"moves_accepted: {len(ledger.moves)} moves")
    print(f"load_lost_moves: {lost_moves} moves")
    return figures


if __name__ == "__main__":
    sys.exit(main())
