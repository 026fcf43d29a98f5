"""The ticket's plus address signed for one recipient (support/mail/addresses.py):
what outgoing mail puts in Reply-To and incoming mail checks."""

from __future__ import annotations

import re

import pytest
from flask import Flask

from support.mail import addresses

REF = "SUP-7KQ2MX"
CUSTOMER = "maria@example.com"


@pytest.fixture
def app_context(app: Flask):
    app.config["MAIL_FROM"] = "Support Desk <support@help.example.com>"
    return app


def test_reply_address_is_the_plus_address_on_our_domain(app_context) -> None:
    address = addresses.reply_address(REF, CUSTOMER)
    assert re.fullmatch(r"support\+SUP-7KQ2MX\.[a-z2-7]{10}@help\.example\.com", address)


def test_address_signed_for_the_recipient_verifies_for_them_only(app_context) -> None:
    ref, sig = addresses.parse(addresses.reply_address(REF, CUSTOMER))
    assert ref == REF
    assert addresses.verify(ref, sig, CUSTOMER)
    assert addresses.verify(ref, sig, f"Maria Lopez <{CUSTOMER}>")  # a From header
    assert not addresses.verify(ref, sig, "mallory@example.com")
    assert not addresses.verify("SUP-7KQ2MY", sig, CUSTOMER)  # another ticket
    assert not addresses.verify(ref, sig, "")


def test_each_ticket_and_recipient_gets_its_own_signature(app_context) -> None:
    signatures = {
        addresses.signature(ref, who)
        for ref in (REF, "SUP-ABCDEF")
        for who in (CUSTOMER, "agent@example.com")
    }
    assert len(signatures) == 4


def test_case_of_the_address_does_not_matter(app_context) -> None:
    address = addresses.reply_address(REF, "Maria@Example.COM")
    assert address == addresses.reply_address(REF, CUSTOMER)
    # A mail system may change the case of the whole address on the way back.
    for seen in (address.upper(), address.lower()):
        ref, sig = addresses.parse(seen)
        assert ref == REF
        assert addresses.verify(ref, sig, "MARIA@example.com")


def test_the_signature_depends_on_the_secret_key(app_context) -> None:
    sig = addresses.signature(REF, CUSTOMER)
    app_context.config["SECRET_KEY"] = "another-secret-key"
    assert addresses.signature(REF, CUSTOMER) != sig
    assert not addresses.verify(REF, sig, CUSTOMER)


@pytest.mark.parametrize(
    "address",
    [
        "support@help.example.com",  # no plus part
        "support+SUP-7KQ2MX@help.example.com",  # a reference without a signature
        "support+SUP-7KQ2MX.@help.example.com",
        "support+SUP-7KQ2MX.abc@help.example.com",  # too short
        "support+SUP-7KQ2MX.abcdefghij2k@help.example.com",  # too long
        "support+SUP-7KQ2MX.abcdefgh1!@help.example.com",  # not base32
        "support+SUP-7KQ2M.abcdefghij@help.example.com",  # not a reference
        "support+7KQ2MX.abcdefghij@help.example.com",  # no prefix
        "support+SUP-7KQ2MX.abcdefghij",  # no domain
        "",
        "not an address at all",
    ],
)
def test_malformed_plus_parts_do_not_parse(app_context, address: str) -> None:
    assert addresses.parse(address) is None


def test_a_forged_signature_does_not_verify(app_context) -> None:
    ref, sig = addresses.parse(addresses.reply_address(REF, CUSTOMER))
    forged = ("a" if sig[0] != "a" else "b") + sig[1:]
    assert not addresses.verify(ref, forged, CUSTOMER)
    assert not addresses.verify(ref, sig[:-1], CUSTOMER)
