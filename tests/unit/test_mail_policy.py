"""The mailer's policy stores its own short ASCII headers as written (no parse): the
email must come out byte for byte as `email.policy.default` would write it."""

from __future__ import annotations

from email import policy
from email.message import EmailMessage

import pytest

from support.notify import mailer

HEADERS = [
    ("From", '"Acme Support, Inc." <support@acme.example>'),
    ("To", "customer@example.com"),
    ("Subject", "[SUP-ABC123] Payout 7 still pending"),
    ("Date", "Mon, 01 Mar 2032 09:00:00 +0000"),
    ("Message-ID", "<mail-0123456789abcdef@acme.example>"),
    ("In-Reply-To", "<SUP-ABC123@acme.example>"),
    ("References", "<SUP-ABC123@acme.example>"),
    ("Reply-To", '"Acme Support" <support+SUP-ABC123.sig@acme.example>'),
    ("Auto-Submitted", "auto-replied"),
    ("X-Auto-Response-Suppress", "All"),
    ("X-Support-Ref", "SUP-ABC123"),
]


def email(with_policy, subject: str) -> bytes:
    message = EmailMessage(policy=with_policy)
    for name, value in HEADERS:
        message[name] = subject if name == "Subject" else value
    message.set_content("Hello,\n\nYour payout is on its way.\n")
    message.add_alternative("<p>Hello,</p><p>Your payout is on its way.</p>", subtype="html")
    message.set_boundary("===boundary===")  # else random
    return message.as_bytes(policy=with_policy.clone(linesep="\r\n"))


@pytest.mark.parametrize(
    "subject",
    [
        "[SUP-ABC123] Payout 7 still pending",
        "[SUP-ABC123] Überweisung fehlt — 払い戻し",  # non-ASCII: encoded by the default path
        "[SUP-ABC123] " + "a very long subject line " * 8,  # too long: folded
        "[SUP-ABC123] =?utf-8?q?looks_encoded?= and (a comment) <x@y>",
    ],
    ids=["ascii", "non-ascii", "long", "tricky-ascii"],
)
def test_same_bytes_as_the_default_policy(subject: str) -> None:
    assert email(mailer.POLICY, subject) == email(policy.default, subject)


def test_reading_a_verbatim_header_parses_it_then() -> None:
    message = EmailMessage(policy=mailer.POLICY)
    message["To"] = '"Sam Customer" <sam@example.com>'
    assert message["To"].addresses[0].addr_spec == "sam@example.com"
