"""A real HTTP receiver on loopback (http.server in a thread) that records every
request and answers as a test tells it to: a status, a delay, a redirect, a big body.
Fixtures for the webhook tests (tests/jobs/conftest.py makes them visible): the
receiver, a webhook maker, and the config they run with (WEBHOOKS_ALLOW_PRIVATE on,
since the receiver is on 127.0.0.1; a 1 s timeout).
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from flask import Flask

from support.models import Webhook, WebhookEvent
from support.webhooks import subscriptions


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Reply:
    status: int = 200
    delay: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b"ok"


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> dict[str, Any]:
        return json.loads(self.body)


class Receiver:
    """Answers each request with the next planned Reply (then 200s)."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.received: list[Received] = []
        self.plan: list[Reply] = []
        self._server: ThreadingHTTPServer | None = None
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                with receiver._lock:
                    receiver.received.append(Received(self.path, dict(self.headers), body))
                    reply = receiver.plan.pop(0) if receiver.plan else Reply()
                if reply.delay:
                    time.sleep(reply.delay)
                try:
                    self.send_response(reply.status)
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(reply.body)))
                    self.end_headers()
                    self.wfile.write(reply.body)
                except OSError:
                    pass  # the client stopped listening (a timeout, a bounded read)

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def events(self) -> list[str]:
        return [r.headers["Support-Desk-Event"] for r in self.received]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    started = Receiver().start()
    yield started
    started.stop()


@pytest.fixture
def webhook_config(app: Flask) -> None:
    app.config.update(WEBHOOKS_ALLOW_PRIVATE=True, WEBHOOK_TIMEOUT_SECONDS=1)


@pytest.fixture
def webhook(app: Flask, webhook_config: None):
    """Make a webhook (all events unless told) for a URL."""

    def make(url: str, events: list[WebhookEvent] | None = None, **fields) -> Webhook:
        return subscriptions.create(
            url=url, events=[e.value for e in events or WebhookEvent], by=None, **fields
        )

    return make
