"""The ticket's plus address, signed for one recipient: `support+SUP-7KQ2MX.<sig>@domain`.

Every email we send about a ticket gets it as `Reply-To`, so a reply comes back to
the support mailbox saying which ticket it is about. `<sig>` is an HMAC over the
ticket reference and the recipient's address, keyed from SECRET_KEY: a reply whose
sender matches the address the token was made for can be trusted to come from
them (as far as the sender address can), and one that does not is "unverified".
Outgoing mail builds it (`reply_address`); incoming mail checks it (`parse`, then
`verify`) with this same code.

Addresses are compared lower-cased, and `parse` reads the token case-insensitively:
mail systems are free to change the case of an address on the way.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from email.utils import parseaddr
from functools import lru_cache

from flask import current_app

from support.tickets import refs

PURPOSE = b"support-desk/mail/reply-address/v1"
SIG_LENGTH = 10  # base32 characters: 50 bits, unguessable within any mail volume
_BASE32 = "abcdefghijklmnopqrstuvwxyz234567"
_LOCAL = re.compile(
    rf"^(?P<base>[^+@]+)\+(?P<ref>[^.@+]+)\.(?P<sig>[{_BASE32}]{{{SIG_LENGTH}}})$",
    re.IGNORECASE,
)


def _key() -> bytes:
    """A key for this purpose only, derived from SECRET_KEY (a signature made here
    means nothing to the session cookie or the survey links, and the reverse)."""
    secret = current_app.config["SECRET_KEY"]
    if isinstance(secret, str):
        secret = secret.encode()
    return hmac.new(secret, PURPOSE, hashlib.sha256).digest()


@lru_cache(maxsize=1024)
def parsed(address: str) -> tuple[str, str]:
    """`email.utils.parseaddr`, remembered: the same few addresses (MAIL_FROM, a
    ticket's customer) are parsed several times for every email sent."""
    return parseaddr(address)


def _normalise(address: str) -> str:
    return parsed(address)[1].strip().lower()


def signature(ticket_ref: str, recipient: str) -> str:
    """The token for this ticket and recipient: SIG_LENGTH lower-case base32 characters."""
    message = f"{ticket_ref.upper()}\n{_normalise(recipient)}".encode()
    digest = hmac.new(_key(), message, hashlib.sha256).digest()
    return base64.b32encode(digest).decode().lower()[:SIG_LENGTH]


def _mailbox() -> tuple[str, str]:
    """The local part and domain of MAIL_FROM (the support mailbox replies go to)."""
    address = parsed(current_app.config["MAIL_FROM"])[1]
    local, _, domain = address.rpartition("@")
    return (local or "support"), (domain or "localhost")


def mailbox_domain() -> str:
    """The support mailbox's domain (MAIL_FROM's), lower-cased."""
    return _mailbox()[1].lower()


def reply_address(ticket_ref: str, recipient: str) -> str:
    """`support+SUP-XXXXXX.<sig>@<domain of MAIL_FROM>`, signed for `recipient`."""
    local, domain = _mailbox()
    base = local.split("+", 1)[0]
    return f"{base}+{ticket_ref.upper()}.{signature(ticket_ref, recipient)}@{domain}"


def parse(address: str) -> tuple[str, str] | None:
    """(ticket reference, signature) from a plus address (a bare address or one with a
    display name); None when it has no well-formed plus part."""
    local, at, _domain = _normalise(address).rpartition("@")
    if not at:
        return None
    match = _LOCAL.match(local)
    if match is None:
        return None
    ref = refs.normalise(match["ref"])
    if ref is None or not match["ref"].upper().startswith(refs.PREFIX):
        return None
    return ref, match["sig"].lower()


def verify(ticket_ref: str, sig: str, sender: str) -> bool:
    """Whether `sig` was made for this ticket and this sender (compared in constant time)."""
    if not _normalise(sender) or not sig:
        return False
    expected = signature(ticket_ref, sender)
    return hmac.compare_digest(expected.encode(), sig.lower().encode())
