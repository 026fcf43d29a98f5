"""The load test's simulated people (see load.py): a browser-ish HTTP client with
timings per route, what each run records (Stats, Ledger), customers who search,
file, read and reply, agents who load the board and move cards, and `hammer`, the
trivial-route ceiling."""

from __future__ import annotations

import http.client
import math
import random
import re
import statistics
import sys
import threading
import time
import traceback
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit

from cpu import CpuMeter, print_breakdown

NO_ANSWER = 599  # the status recorded when the server never answered (refused, timed out)
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


class WindowOver(Exception):
    """The measured window has ended: the simulated user stops where it is, so every
    request counted began inside the window."""


class Client:
    """A browser-ish HTTP client: cookies, CSRF tokens from pages, timings per route."""

    def __init__(self, base: str, stats: Stats, pace: float | None = None) -> None:
        self.host, self.port = urlsplit(base).hostname, urlsplit(base).port
        self.cookies: dict[str, str] = {}
        self.stats = stats
        self.email = ""  # who signed in
        # Mean seconds between the starts of two requests (None: no pause at all).
        self.pace = pace
        self.until = math.inf  # the end of the measured window: no request starts after it
        self._next = time.monotonic()
        self._rng = random.Random()

    def resume(self) -> None:
        """Pace from now on (not from before a wait the pace did not ask for), the first
        request at a random moment too: users that start together do not all send at once."""
        self._next = time.monotonic()
        if self.pace is not None:
            self._next += self._rng.expovariate(1 / self.pace)

    def wait_turn(self) -> None:
        """With a pace, start requests at random (Poisson) moments drawn ahead of time:
        arrivals that do not wait for the server, so latency is measured at a rate, not
        at saturation. A late answer does not push the schedule back: the user sends its
        next request at once, catching up, so all users together send the rate asked for
        as long as the server keeps up. How late each request left is recorded."""
        if self.pace is None:
            return
        if self._next >= self.until:
            raise WindowOver  # not one more request in the window: no need to sleep on
        now = time.monotonic()
        if self._next > now:
            time.sleep(self._next - now)
        self.stats.late(max(0.0, now - self._next))
        self._next += self._rng.expovariate(1 / self.pace)

    def request(
        self,
        method: str,
        path: str,
        route: str,
        form: dict | None = None,
        sending: Callable[[], None] | None = None,
    ):
        """One request, after this user's pause; `sending` runs just before it leaves
        (the ledger's note of a filing or a reply). No request starts after the window:
        WindowOver ends the user instead."""
        self.wait_turn()
        if time.monotonic() >= self.until:
            raise WindowOver
        if sending is not None:
            sending()
        body = urlencode(form) if form is not None else None
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        start, begun = time.perf_counter(), time.monotonic()
        conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
        try:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            text = response.read().decode("utf-8", "replace")
        except (OSError, http.client.HTTPException):
            self.stats.add(route, time.perf_counter() - start, NO_ANSWER, begun)
            return NO_ANSWER, "", {}
        finally:
            conn.close()
        self.stats.add(route, time.perf_counter() - start, response.status, begun)
        for value in response.headers.get_all("Set-Cookie") or []:
            name, _, rest = value.partition("=")
            self.cookies[name] = rest.split(";", 1)[0]
        return response.status, text, dict(response.headers)

    @staticmethod
    def field(html: str, name: str) -> str:
        found = re.search(rf'name="{name}"[^>]*value="([^"]*)"', html)
        return found.group(1) if found else ""

    def login(self, email: str, attempts: int = 3) -> bool:
        """Sign in (a few tries: a lost answer is not a lost user); False if it never worked."""
        for attempt in range(attempts):
            _, html, _ = self.request("GET", "/login", "GET /login")
            csrf = self.field(html, "csrf_token")
            form = {"csrf_token": csrf, "email": email, "password": PASSWORD}
            status, _, _ = self.request("POST", "/login", "POST /login", form)
            if status == 303:
                self.email = email
                return True
            self.stats.count("failed_logins")
            time.sleep(0.5 * (attempt + 1))
        return False


class Stats:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.times: dict[str, list[float]] = defaultdict(list)
        self.codes: dict[str, Counter] = defaultdict(Counter)
        self.events: Counter[str] = Counter()  # failed_logins, dead_users
        self.deaths: list[str] = []  # the traceback of each simulated user that crashed
        # The measured window (monotonic start, end) and the requests begun inside it
        # (all of them: a user stops at its end); load_total_rps divides by the time to
        # the last answer instead, a few hundred milliseconds more.
        self.window: tuple[float, float] | None = None
        self.begun_in_window = 0
        # Seconds each paced request left after its planned moment (0 when on time):
        # users behind their schedule mean the server did not keep up with the rate.
        self.lateness: list[float] = []

    def add(self, route: str, seconds: float, status: int, begun: float | None = None) -> None:
        with self.lock:
            self.times[route].append(seconds * 1000)
            self.codes[route][status] += 1
            if self.window and begun is not None and self.window[0] <= begun < self.window[1]:
                self.begun_in_window += 1

    def late(self, seconds: float) -> None:
        with self.lock:
            self.lateness.append(seconds * 1000)

    def failed(self) -> int:
        """Answers with a 5xx status."""
        return sum(
            n for codes in self.codes.values() for c, n in codes.items() if 500 <= c < NO_ANSWER
        )

    def unanswered(self) -> int:
        return sum(codes[NO_ANSWER] for codes in self.codes.values())

    def count(self, event: str) -> None:
        with self.lock:
            self.events[event] += 1

    def died(self, why: str) -> None:
        with self.lock:
            self.events["dead_users"] += 1
            self.deaths.append(why)


class Ledger:
    """What the simulated users tried and were told, to check against the database."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.tried: set[str] = set()  # client tokens of every filing sent
        self.filed: dict[str, str] = {}  # client token -> ref, for each 303 received
        self.reply_tokens: set[str] = set()  # every reply sent
        self.replies: list[tuple[str, str]] = []  # (ref, client token) for each 303
        self.moves: list[tuple[str, str, str]] = []  # (ref, status, agent email) for each 303

    def record(self, kind: str, item) -> None:
        with self.lock:
            if kind == "tried":
                self.tried.add(item)
            elif kind == "reply_tried":
                self.reply_tokens.add(item)
            elif kind == "filed":
                self.filed[item[0]] = item[1]
            else:
                getattr(self, kind).append(item)


class Start:
    """The moment the measured load begins: every simulated user signs in first, then
    all of them wait here together, so the run's figures are the paced pages and forms,
    not the burst of password checks at sign-in (measured on their own)."""

    def __init__(self, users: int, duration: float, stats: Stats) -> None:
        # The users and load.py's run(); the last to arrive sets the window for all,
        # before any of them goes on.
        self.barrier = threading.Barrier(users + 1, action=self._started)
        self.duration = duration
        self.stats = stats
        self.until = 0.0

    def _started(self) -> None:
        now = time.monotonic()
        self.until = now + self.duration
        self.stats.window = (now, self.until)

    def wait(self) -> None:
        """Called by each user once signed in (or not), and by run() to start the clock."""
        self.barrier.wait()


def simulated(user):
    """A simulated user, signed in first (its sign-in counted in `signing_in`, before
    the start): one that cannot sign in or that fails is counted and its traceback
    kept, never lost silently."""

    def run(
        base: str,
        email: str,
        stats: Stats,
        ledger: Ledger,
        start: Start,
        pace: float | None = None,
        signing_in: Stats | None = None,
    ) -> None:
        signed_in = False
        try:
            client = Client(base, signing_in or stats, pace)
            signed_in = client.login(email)
            if not signed_in:
                stats.died(f"{email}: could not sign in")
        except Exception:
            stats.died(f"{email}: {traceback.format_exc()}")
        finally:
            start.wait()  # whatever happened: the others must not wait for ever
        if not signed_in:
            return
        try:
            client.stats = stats
            client.until = start.until
            client.resume()
            user(client, random.Random(email), ledger)  # until WindowOver
        except WindowOver:
            pass
        except Exception:  # any crash is a dead user, reported at the end
            stats.died(f"{email}: {traceback.format_exc()}")

    return run


REF = re.compile(r"SUP-[A-Z0-9]+")


@simulated
def customer(client: Client, rng: random.Random, ledger: Ledger) -> None:
    mine: list[str] = []
    while True:  # each round's first request ends it once the window is over
        q = rng.choice(SEARCHES)
        client.request("GET", "/kb/search?" + urlencode({"q": q}), "GET /kb/search")
        client.request("GET", "/kb/suggest?" + urlencode({"q": q + " help"}), "GET /kb/suggest")
        if rng.random() < 0.5 or not mine:
            _, html, _ = client.request("GET", "/tickets/new", "GET /tickets/new")
            token = client.field(html, "client_token")
            if not token:  # no form (counted as that request's error): try again later
                continue
            form = {
                "csrf_token": client.field(html, "csrf_token"),
                "client_token": token,
                "subject": f"Load test: {q}",
                "description": f"Please help: {q}. " * 5,
                "category": "payments",
                "impact": "just_me",
            }
            status, _, headers = client.request(
                "POST",
                "/tickets/new",
                "POST /tickets/new",
                form,
                sending=lambda token=token: ledger.record("tried", token),
            )
            found = REF.search(headers.get("Location", "")) if status == 303 else None
            if found:
                ledger.record("filed", (token, found.group(0)))
                mine.append(found.group(0))
        if not mine:  # nothing filed yet (the filing failed): nothing to read or reply to
            continue
        ref = rng.choice(mine)
        _, html, _ = client.request("GET", f"/tickets/{ref}", "GET /tickets/<ref>")
        token = client.field(html, "client_token")
        if not token:
            continue
        form = {
            "csrf_token": client.field(html, "csrf_token"),
            "client_token": token,
            "body": "Any update on this? " * 3,
        }
        status, _, _ = client.request(
            "POST",
            f"/tickets/{ref}/reply",
            "POST reply",
            form,
            sending=lambda token=token: ledger.record("reply_tried", token),
        )
        if status == 303:
            ledger.record("replies", (ref, token))


CARD = re.compile(r'data-ref="(SUP-[A-Z0-9]+)" data-version="(\d+)"')
MOVABLE = ["open", "pending", "on_hold"]


def column_of(html: str, status: str) -> str:
    """One column's cards (its <ol>) from a board page, by plain string search: a regex
    over the whole page cost the load generator an eighth of its CPU."""
    start = html.find(f'data-status="{status}"')
    return html[start : html.find("</ol>", start)] if start >= 0 else ""


@simulated
def agent(client: Client, rng: random.Random, ledger: Ledger) -> None:
    while True:  # each round's first request ends it once the window is over
        _, html, _ = client.request("GET", "/board", "GET /board")
        source = rng.choice(MOVABLE)
        cards = CARD.findall(column_of(html, source))
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
            ledger.record("moves", (ref, target, client.email))


@dataclass
class Crowd:
    """The simulated users, signed in and running, and what they record."""

    users: list[threading.Thread]
    stats: Stats  # the paced load's requests
    ledger: Ledger
    signing_in: Stats  # the sign-ins before it (still checked by the bar)


def sign_everyone_in(
    base: str, customers: int, agents: int, duration: float, pace: float | None, meter: CpuMeter
) -> Crowd:
    """Start every simulated user and return once all of them are signed in (or failed to):
    the paced load runs for `duration` from then on. The sign-in burst (a password check
    each) is measured on its own with `meter` and reported here."""
    stats, ledger, signing_in = Stats(), Ledger(), Stats()
    start = Start(customers + agents, duration, stats)
    people = [(customer, f"c{i}@example.com") for i in range(customers)]
    people += [(agent, f"agent{i}@example.com") for i in range(agents)]
    users = [
        threading.Thread(target=user, args=(base, email, stats, ledger, start, pace, signing_in))
        for user, email in people
    ]
    meter.start()
    started = time.monotonic()
    for user in users:
        user.start()
    start.wait()
    report_sign_ins(signing_in, meter.stop(), time.monotonic() - started)
    return Crowd(users, stats, ledger, signing_in)


def report_sign_ins(signing_in: Stats, cpu: dict[str, float], elapsed: float) -> None:
    """The sign-in burst before the measured load: how long, and what CPU it took."""
    answered = [t for times in signing_in.times.values() for t in times]
    print(f"sign_in_duration: {elapsed:.1f} s for {len(answered)} requests")
    if answered:
        print(f"sign_in_median: {statistics.median(answered):.1f} ms")
    print(f"sign_in_failed_logins: {signing_in.events['failed_logins']} attempts")
    print(f"sign_in_5xx: {signing_in.failed()} responses")
    print(f"sign_in_timeouts: {signing_in.unanswered()} requests")
    print_breakdown(cpu, elapsed, prefix="sign_in_cpu")


def report(stats: Stats, elapsed: float) -> dict[str, int]:
    total = errors_5xx = timeouts = limited = 0
    for route in sorted(stats.times):
        times = stats.times[route]
        total += len(times)
        errors_5xx += sum(n for code, n in stats.codes[route].items() if 500 <= code < NO_ANSWER)
        timeouts += stats.codes[route][NO_ANSWER]
        limited += stats.codes[route][429]
        slug = re.sub(r"[^a-z0-9]+", "_", route.lower()).strip("_")
        p99 = statistics.quantiles(times, n=100)[98] if len(times) > 1 else times[0]
        print(f"{slug}_rps: {len(times) / elapsed:.1f} req/s")
        print(f"{slug}_median: {statistics.median(times):.1f} ms")
        print(f"{slug}_p99: {p99:.1f} ms")
        refused = sum(n for code, n in stats.codes[route].items() if 400 <= code < 500)
        failed = sum(n for code, n in stats.codes[route].items() if 500 <= code < NO_ANSWER)
        dropped = stats.codes[route][NO_ANSWER]  # no answer at all (connection refused, timeout)
        if dropped:
            print(f"{slug}_no_answer: {dropped} requests")
        if refused:
            print(f"{slug}_4xx: {refused} responses")
        if failed:
            print(f"{slug}_5xx: {failed} responses")
    figures = {
        "load_5xx": errors_5xx,
        "load_timeouts": timeouts,
        "load_429": limited,
        "load_dead_users": stats.events["dead_users"],
    }
    print(f"load_total_rps: {total / elapsed:.1f} req/s")
    if stats.window:
        seconds = stats.window[1] - stats.window[0]
        print(f"load_window_rps: {stats.begun_in_window / seconds:.1f} req/s")
    if stats.lateness:
        late = stats.lateness
        p99 = statistics.quantiles(late, n=100)[98] if len(late) > 1 else late[0]
        print(f"load_behind_median: {statistics.median(late):.1f} ms")
        print(f"load_behind_p99: {p99:.1f} ms")
        behind = sum(t > 10 for t in late)  # more than 10 ms late
        print(f"load_behind_share: {100 * behind / len(late):.1f} %")
    print(f"load_requests: {total} requests")
    print(f"load_5xx: {errors_5xx} responses")
    print(f"load_timeouts: {timeouts} requests")
    print(f"load_429: {limited} responses")
    print(f"load_dead_users: {figures['load_dead_users']} users")
    for death in stats.deaths[:3]:
        print(f"--- dead user {death}", file=sys.stderr)
    return figures


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
