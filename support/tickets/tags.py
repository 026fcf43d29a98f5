"""Tag names: what a tag may be called, and finding or creating tags by name."""

from __future__ import annotations

import re
from collections.abc import Iterable

from sqlalchemy import select

from support.extensions import db
from support.models import Tag

NAME_MAX = 40
PER_TICKET_MAX = 20
_VALID = re.compile(r"[\w][\w .&+-]*", re.UNICODE)


class BadTag(ValueError):
    """A tag name we can't take; the message is for the user."""


def normalise(name: str) -> str:
    """One spelling per tag: trimmed, inner spaces collapsed, lower case."""
    cleaned = " ".join(name.split()).lower()
    if not cleaned:
        raise BadTag("A tag can't be empty.")
    if len(cleaned) > NAME_MAX:
        raise BadTag(f"A tag can be at most {NAME_MAX} characters: “{cleaned[:NAME_MAX]}…”.")
    if not _VALID.fullmatch(cleaned):
        raise BadTag(f"“{cleaned}” isn't a tag: use letters, digits, spaces and - _ . & +.")
    return cleaned


def parse(names: Iterable[str]) -> list[str]:
    """Normalised, de-duplicated (first spelling wins), in the order given."""
    wanted = list(dict.fromkeys(normalise(name) for name in names))
    if len(wanted) > PER_TICKET_MAX:
        raise BadTag(f"A ticket can have at most {PER_TICKET_MAX} tags.")
    return wanted


def find_or_create(names: list[str]) -> list[Tag]:
    """Tags for these (normalised) names, new ones added to the session."""
    if not names:
        return []
    existing = {t.name: t for t in db.session.scalars(select(Tag).where(Tag.name.in_(names)))}
    tags = []
    for name in names:
        tag = existing.get(name)
        if tag is None:
            tag = existing[name] = Tag(name=name)
            db.session.add(tag)
        tags.append(tag)
    return tags
