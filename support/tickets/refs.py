"""Human-friendly, hard-to-guess ticket references such as ``SUP-7KQ2MX``."""

from __future__ import annotations

import re
import secrets

PREFIX = "SUP-"
# Crockford-style: no 0/O, 1/I/L or U, so a reference read over the phone survives.
ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"
LENGTH = 6  # 30**6 ≈ 729 million references: not enumerable by guessing.
_PATTERN = re.compile(rf"^{PREFIX}[{ALPHABET}]{{{LENGTH}}}$")


def new_ref() -> str:
    return PREFIX + "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))


def normalise(raw: str) -> str | None:
    """The canonical form of a typed reference, or None when it cannot be one."""
    ref = raw.strip().upper()
    if not ref.startswith(PREFIX):
        ref = PREFIX + ref
    return ref if _PATTERN.match(ref) else None
