"""A real SMTP server on loopback (aiosmtpd) for every test that sends mail, and what
tests read of the messages it accepted. The `smtp` fixture lives in tests/conftest.py."""

from __future__ import annotations

import asyncio
import socket
import threading
from email import message_from_bytes, policy
from email.message import EmailMessage

from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def text_part(mail: EmailMessage) -> str:
    """The plain-text part of an email we sent (the HTML part is made from it)."""
    part = mail.get_body(("plain",))
    assert part is not None, f"no text part in {mail.get_content_type()}"
    return part.get_content()


class Mailbox:
    """An aiosmtpd handler that keeps every message it accepts."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.peers: list[tuple[str, int]] = []  # the client end of each message's connection
        self.hold_rcpt = threading.Event()  # set: RCPT waits until released
        self.in_rcpt = threading.Event()
        self.release = threading.Event()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.hold_rcpt.is_set():
            self.in_rcpt.set()
            while not self.release.is_set():
                await asyncio.sleep(0.05)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        message = message_from_bytes(envelope.content, policy=policy.default)
        self.messages.append(message)  # type: ignore[arg-type]
        self.peers.append(session.peer)
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if m["To"] == address]


class SmtpServer:
    def __init__(self, idle_timeout: float | None = None) -> None:
        self.port = free_port()
        self.mailbox = Mailbox()
        self.idle_timeout = idle_timeout  # seconds before the server hangs up on a quiet client
        self._controller: Controller | None = None

    def start(self) -> None:
        options = {"timeout": self.idle_timeout} if self.idle_timeout else {}
        self._controller = Controller(self.mailbox, hostname="127.0.0.1", port=self.port, **options)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self.mailbox.release.set()
            self._controller.stop()
            self._controller = None

    @property
    def settings(self) -> dict[str, object]:
        """The app's configuration for sending its mail here."""
        return {"MAIL_SERVER": "127.0.0.1", "MAIL_PORT": self.port, "MAIL_BACKEND": "smtp"}
