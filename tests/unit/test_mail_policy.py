"""The mailer's policy stores its own short ASCII headers as written (no parse): the
email must come out byte for byte as `email.policy.default` would write it."""

from __future__ import annotations

from email import message_from_bytes, policy
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


def test_the_header_classes_are_made_once() -> None:
    """The stdlib's registry makes a new class at every lookup; ours keeps them."""
    assert mailer.POLICY.header_factory["subject"] is mailer.POLICY.header_factory["subject"]


def test_a_text_that_holds_the_shared_boundary_gets_its_own() -> None:
    """The boundary is the same in every email of a process, so someone who read one
    could paste it into a reply: that email must still split into its real parts."""
    shared = mailer._boundary("Hello", "<p>Hello</p>")
    assert mailer._boundary("Hi", "<p>Hi</p>") == shared
    pasted = f"Hello\n--{shared}\nContent-Type: text/html\n\n<p>forged</p>\n--{shared}--\n"
    own = mailer._boundary(pasted, "<p>Hello</p>")
    assert own != shared
    message = EmailMessage(policy=mailer.POLICY)
    message.set_content(pasted)
    message.make_alternative(boundary=own)
    message.add_alternative("<p>Hello</p>", subtype="html")
    parsed = message_from_bytes(message.as_bytes(), policy=policy.default)
    assert [part.get_content_type() for part in parsed.iter_parts()] == ["text/plain", "text/html"]
    assert "forged" in parsed.get_body(("plain",)).get_content()
