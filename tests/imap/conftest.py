"""A real Dovecot IMAP server for the session, a fresh folder per test, and a TCP proxy
that can cut the connection in the middle of a server's answer."""

from __future__ import annotations

import contextlib
import socket
import threading
import uuid
from collections.abc import Iterator
from dataclasses import replace

import pytest
from imapclient import IMAPClient

from support.mail.imap import ImapSettings
from tests.imap import dovecot


@pytest.fixture(scope="session")
def dovecot_server() -> Iterator[dovecot.Dovecot]:
    if not dovecot.available():
        pytest.skip(
            "Dovecot is not installed: apt-get install dovecot-imapd (.ci/run does this) "
            "to run the IMAP tests against a real server"
        )
    server = dovecot.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def imap_settings(dovecot_server: dovecot.Dovecot) -> ImapSettings:
    """Settings for a folder of this test's own, so tests never see each other's mail."""
    folder = f"test-{uuid.uuid4().hex[:10]}"
    with mailbox_admin(dovecot_server) as admin:
        admin.create_folder(folder)
    return ImapSettings(
        host="127.0.0.1",
        port=dovecot_server.port,
        tls="off",
        user=dovecot_server.user,
        password=dovecot_server.password,
        folder=folder,
        timeout=10,
    )


def mailbox_admin(server: dovecot.Dovecot) -> IMAPClient:
    """A second IMAP session, as a person or another mail client would have."""
    client = IMAPClient("127.0.0.1", port=server.port, ssl=False, timeout=10)
    client.login(server.user, server.password)
    return client


@pytest.fixture
def mailbox(dovecot_server: dovecot.Dovecot, imap_settings: ImapSettings) -> Iterator[IMAPClient]:
    client = mailbox_admin(dovecot_server)
    try:
        yield client
    finally:
        client.logout()


def message(n: int, body: str = "Hello") -> bytes:
    return (
        f"From: Customer {n} <customer{n}@example.com>\r\n"
        f"To: support@example.com\r\n"
        f"Subject: Question {n}\r\n"
        f"Message-ID: <m{n}.{uuid.uuid4().hex}@example.com>\r\n"
        f"\r\n{body} {n}\r\n"
    ).encode()


class CuttingProxy:
    """Forwards loopback TCP to the IMAP server; `cut_after(n)` closes both sides once n
    more bytes have come from the server (the connection dropped mid-answer)."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.budget: int | None = None
        self.cuts = 0
        self.lock = threading.Lock()
        self.closing = False
        threading.Thread(target=self._accept, daemon=True).start()

    def cut_after(self, n: int) -> None:
        with self.lock:
            self.budget = n

    def _accept(self) -> None:
        while not self.closing:
            try:
                downstream, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.target_port))
            threading.Thread(
                target=self._pipe, args=(downstream, upstream, False), daemon=True
            ).start()
            threading.Thread(
                target=self._pipe, args=(upstream, downstream, True), daemon=True
            ).start()

    def _pipe(self, source: socket.socket, sink: socket.socket, from_server: bool) -> None:
        try:
            while data := source.recv(4096):
                if from_server:
                    with self.lock:
                        if self.budget is not None:
                            if len(data) >= self.budget:
                                data, self.budget = data[: self.budget], None
                                sink.sendall(data)
                                self.cuts += 1
                                raise ConnectionAbortedError
                            self.budget -= len(data)
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()

    def close(self) -> None:
        self.closing = True
        self.listener.close()


@pytest.fixture
def cutting_proxy(dovecot_server: dovecot.Dovecot) -> Iterator[CuttingProxy]:
    proxy = CuttingProxy(dovecot_server.port)
    try:
        yield proxy
    finally:
        proxy.close()


def through(proxy: CuttingProxy, settings: ImapSettings) -> ImapSettings:
    return replace(settings, port=proxy.port)
