"""Webhook signatures, as Stripe and GitHub sign theirs.

Each attempt sends `Support-Desk-Signature: t=<unix seconds>,v1=<hex>`, where the hex
is HMAC-SHA256 with the webhook's secret over `f"{t}.{body}"`. The timestamp is part
of what is signed, so a receiver that refuses old timestamps cannot be replayed an
old delivery; the body is signed byte for byte as sent.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time

HEADER = "Support-Desk-Signature"
SECRET_PREFIX = "whsec_"  # noqa: S105 - a prefix, not a secret
TOLERANCE_SECONDS = 300


def new_secret() -> str:
    """A fresh shared secret: `whsec_` and 43 URL-safe characters (256 bits)."""
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def _digest(secret: str, timestamp: int, body: str | bytes) -> str:
    raw = body.encode() if isinstance(body, str) else body
    message = str(timestamp).encode() + b"." + raw
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def sign(secret: str, body: str | bytes, timestamp: int | None = None) -> str:
    """The header value for `body` sent at `timestamp` (now when None)."""
    t = int(time.time()) if timestamp is None else timestamp
    return f"t={t},v1={_digest(secret, t, body)}"


def verify(
    secret: str,
    body: str | bytes,
    header: str,
    *,
    tolerance: int = TOLERANCE_SECONDS,
    now: int | None = None,
) -> bool:
    """What a receiver does: the signature matches and its timestamp is recent."""
    parts: dict[str, list[str]] = {}
    for item in header.split(","):
        key, _, value = item.strip().partition("=")
        parts.setdefault(key, []).append(value)
    try:
        timestamp = int(parts["t"][0])
    except (KeyError, ValueError):
        return False
    current = int(time.time()) if now is None else now
    if abs(current - timestamp) > tolerance:
        return False
    expected = _digest(secret, timestamp, body)
    return any(hmac.compare_digest(expected, given) for given in parts.get("v1", []))
