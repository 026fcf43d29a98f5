"""Splitting what the sender wrote from the history they quoted and their signature.

Both are kept (the timeline hides them behind "show the whole message"); only the new
words are the reply. When the split would leave nothing (a message that is all quote,
or inline answers), the whole text is the reply.
"""

from __future__ import annotations

import re

# Lines that start the quoted history, in the mail clients people use.
_QUOTE_STARTS = [
    re.compile(r"^\s*On\b.{0,300}\bwrote:\s*$", re.I),  # Gmail, Apple Mail, Thunderbird
    re.compile(r"^\s*Le\b.{0,300}\ba écrit\s*:\s*$", re.I),
    re.compile(r"^\s*Am\b.{0,300}\bschrieb\b.{0,100}:\s*$", re.I),
    re.compile(r"^\s*El\b.{0,300}\bescribió:\s*$", re.I),
    re.compile(r"^\s*Op\b.{0,300}\bschreef\b.{0,100}:\s*$", re.I),
    re.compile(r"^\s*-{2,}\s*Original Message\s*-{2,}\s*$", re.I),  # Outlook
    re.compile(r"^\s*-{2,}\s*Forwarded message\s*-{2,}\s*$", re.I),
    re.compile(r"^\s*_{20,}\s*$"),  # Outlook's rule above "From: …"
    re.compile(r"^\s*From:\s.+$", re.I),  # Outlook's header block (after a blank line)
]
SIGNATURE_LINES = 12
_SIGNATURE_STARTS = [
    re.compile(r"^-- ?$"),  # the RFC 3676 delimiter
    re.compile(r"^\s*Sent from my \w+", re.I),
    re.compile(r"^\s*Get Outlook for \w+", re.I),
]


def split(text: str) -> tuple[str, str]:
    """(new words, the rest: quoted history and signature); the rest may be ""."""
    lines = text.replace("\r\n", "\n").split("\n")
    cut = _first_quote_line(lines)
    cut = min(cut, _signature_line(lines[:cut]))
    visible = "\n".join(lines[:cut]).rstrip()
    if not visible.strip():
        return text.strip("\n"), ""
    return visible, "\n".join(lines[cut:]).strip("\n")


def _first_quote_line(lines: list[str]) -> int:
    for number, line in enumerate(lines):
        if any(p.match(line) for p in _QUOTE_STARTS[:-1]):
            return number
        if _QUOTE_STARTS[-1].match(line) and number > 0 and not lines[number - 1].strip():
            return number
        if line.startswith(">") and _rest_is_quote(lines[number:]):
            return number
    return len(lines)


def _rest_is_quote(lines: list[str]) -> bool:
    """A `>` block that runs to the end (blank lines and a signature aside): history,
    not an inline answer between quotes."""
    return all(line.startswith(">") or not line.strip() for line in lines)


def _signature_line(lines: list[str]) -> int:
    """The first signature line among the last few: a signature is short and at the end
    (a "--" high up is probably text)."""
    for number in range(max(0, len(lines) - SIGNATURE_LINES), len(lines)):
        if any(p.match(lines[number]) for p in _SIGNATURE_STARTS):
            return number
    return len(lines)
