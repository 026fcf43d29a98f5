"""A live server in a thread and Debian's Chromium driven by Playwright."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from werkzeug.serving import make_server

from support.auth import reset
from support.extensions import db
from support.kb import activity
from support.models import CannedResponse, Status
from support.models.api import Webhook
from support.survey import tokens as survey_tokens
from support.tickets import attachments, service
from tests.conftest import make_app
from tests.factories import Factory

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/browser" in str(item.fspath):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict) -> dict:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium package (see .ci/run).")
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


@pytest.fixture
def context(context):
    """Fail a test whose pages had a script or style blocked by our Content-Security-Policy."""
    blocked: list[str] = []

    def on_console(message) -> None:
        if "Content Security Policy" in message.text:
            blocked.append(
                f"{message.location.get('url')}:{message.location.get('lineNumber')} "
                f"{message.text[:90]}"
            )

    context.on("console", on_console)
    yield context
    assert not blocked, f"blocked by the Content-Security-Policy: {blocked}"


class LiveServer:
    def __init__(self, app: Flask, url: str) -> None:
        self.app = app
        self.url = url


class InFlight:
    """The app, counting the requests it is answering: each is answered whole (its
    response read to the end) before it counts as done. Once closed, it answers 503
    without touching the app, so no request can take a database connection after the
    engine is disposed (one would be left to the garbage collector: a ResourceWarning,
    an error in whichever test runs then)."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.busy = 0
        self.closed = False
        self.idle = threading.Condition()

    def __call__(self, environ: dict, start_response: Any) -> list[bytes]:
        with self.idle:
            if self.closed:  # the page's poll, a moment after the test ended
                start_response("503 Service Unavailable", [("Content-Length", "0")])
                return []
            self.busy += 1
        try:
            response = self.app(environ, start_response)
            try:
                return list(response)
            finally:
                getattr(response, "close", lambda: None)()
        finally:
            with self.idle:
                self.busy -= 1
                self.idle.notify_all()

    def close(self, timeout: float) -> None:
        """Refuse new requests, and wait for those being answered."""
        with self.idle:
            self.closed = True
            self.idle.wait_for(lambda: self.busy == 0, timeout)


@contextmanager
def serving(app: Flask) -> Iterator[LiveServer]:
    """`app` served on a free loopback port in a thread, until the block ends."""
    counted = InFlight(app)
    server = make_server("127.0.0.1", 0, counted, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield LiveServer(app, f"http://127.0.0.1:{server.server_port}")
    finally:
        server.shutdown()
        thread.join(timeout=5)
        # A request accepted before the shutdown may still be on its way to the app, or
        # in it (the page's timeline poll, say): closing lets the first go no further
        # and waits for the second to give its connection back.
        counted.close(timeout=10)
        server.server_close()
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.fixture
def live_server(tmp_path: Path, redis_url: str) -> Iterator[LiveServer]:
    app = make_app(tmp_path, redis_url, TIMELINE_POLL_SECONDS=1, WTF_CSRF_ENABLED=True)
    with serving(app) as live:
        yield live


@dataclass
class Seeded:
    """One module's live server with a bit of everything (tests/browser/test_accessibility.py
    walks every page on it; tests/browser/test_forms_keyboard.py uses its forms)."""

    server: LiveServer
    customer: str
    agent: str
    admin: str
    open_ref: str  # replies, an attachment, an internal note
    resolved_ref: str  # resolved: the rating form shows
    survey_token: str
    reset_token: str
    canned_id: int
    webhook_id: int


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory, redis_url: str) -> Iterator[Seeded]:
    tmp_path = tmp_path_factory.mktemp("a11y")
    app = make_app(tmp_path, redis_url, TIMELINE_POLL_SECONDS=60, WTF_CSRF_ENABLED=True)
    with app.app_context():
        make = Factory()
        customer = make.customer(name="Robin Buyer")
        admin = make.admin(name="Ada Admin", tier=3)
        agent = make.agent(name="Alex Agent")
        first = make.ticket(customer, subject="Charged twice for order 4821")
        log = attachments.store("checkout.log", BytesIO(b"12:01 payment authorised\n"))
        service.reply(first, author=agent, body="Sorry! Refunding the duplicate.", files=[log])
        service.reply(first, author=agent, body="Internal: refund id 998", public=False)
        service.reply(first, author=customer, body="Thanks, I can see it pending.")
        make.ticket(subject="Seller never shipped my order")
        done = make.ticket(customer, subject="Parcel never arrived")
        service.reply(done, author=agent, body="The carrier found it: it arrives tomorrow.")
        service.change_status(done, Status.RESOLVED, actor=agent)
        invite = survey_tokens.create_invite(done)
        # Close to the open ticket, so the panel's "Similar past tickets" lists one.
        past = make.ticket(subject="Charged twice for one order")
        service.reply(past, author=agent, body="We refunded the second charge.")
        service.change_status(past, Status.RESOLVED, actor=agent)
        canned = CannedResponse(title="Thanks", body="Thanks, {{ customer.first_name }}!")
        # Straight in: creating one through subscriptions looks the host up (no network here).
        hook = Webhook(
            url="https://hooks.example.com/support",
            events=["ticket.created"],
            secret="s3cret",
            created_by=admin,
        )
        db.session.add_all([canned, hook])
        db.session.commit()
        # /reports/kb shows its tables only with something to count.
        activity.record_search("charged twice", 3)
        activity.record_search("zzqxv", 0)
        activity.record_view("charged-twice")
        activity.record_suggestions("form-token-0001", ["charged-twice"])
        data = {
            "customer": customer.email,
            "agent": agent.email,
            "admin": admin.email,
            "open_ref": first.ref,
            "resolved_ref": done.ref,
            "survey_token": survey_tokens.token_for(invite),
            "reset_token": reset.token_for(customer),
            "canned_id": canned.id,
            "webhook_id": hook.id,
        }
        db.session.remove()
    with serving(app) as live:
        yield Seeded(live, **data)
