"""Tag names: what a tag may be called, and finding or creating tags by name."""

from __future__ import annotations

import re
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.dml import Insert

from support.extensions import db
from support.models import Tag, ticket_tags

NAME_MAX = 40
PER_TICKET_MAX = 20
SUGGEST_MAX = 200  # tags offered in a box's suggestions
_VALID = re.compile(r"[\w][\w .&+-]*", re.UNICODE)


class BadTag(ValueError):
    """A tag name we can't take; the message is for the user."""


def normalise(name: str) -> str:
    """One spelling per tag: trimmed, inner spaces collapsed, lower case."""
    if not isinstance(name, str):
        raise BadTag(f"A tag is a name, not {name!r}.")
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
    if isinstance(names, str):  # "refund" would otherwise be six tags, one per letter
        raise BadTag("Give the tags as a list of names, not one piece of text.")
    wanted = list(dict.fromkeys(normalise(name) for name in names))
    if len(wanted) > PER_TICKET_MAX:
        raise BadTag(f"A ticket can have at most {PER_TICKET_MAX} tags.")
    return wanted


def split(text: str) -> list[str]:
    """Names typed in one box, separated by commas; empty pieces ("a, , b,") dropped."""
    return [piece for piece in text.split(",") if piece.strip()]


def in_use(limit: int = SUGGEST_MAX) -> list[str]:
    """The names of the tags on at least one ticket, by name (one query, reading the
    tag index of ticket_tags, not counting uses): what a tag box suggests. A tag nobody
    uses any more is not offered again."""
    used = select(ticket_tags.c.tag_id).where(ticket_tags.c.tag_id == Tag.id).exists()
    query = select(Tag.name).where(used).order_by(Tag.name).limit(limit)
    return list(db.session.scalars(query))


def completions(typed: str, names: Iterable[str], limit: int = 20) -> list[str]:
    """What a box of comma-separated tags may become: the names that start with (then
    contain) the last piece typed, after the pieces before it; names already typed are
    not offered twice."""
    *before, last = typed.split(",") if typed else [""]
    kept = [" ".join(piece.split()) for piece in before if piece.strip()]
    chosen = {piece.lower() for piece in kept}
    wanted = " ".join(last.split()).lower()
    fresh = [name for name in names if name not in chosen]
    starting = [name for name in fresh if name.startswith(wanted)]
    inside = [name for name in fresh if wanted and wanted in name and name not in starting]
    prefix = ", ".join(kept)
    return [f"{prefix}, {name}" if prefix else name for name in (starting + inside)[:limit]]


def find_or_create(names: list[str]) -> list[Tag]:
    """Tags for these (normalised) names, new ones inserted (the caller commits).

    New names are inserted with ON CONFLICT DO NOTHING: two requests adding the same
    new tag at once both get the one row, and neither fails on the unique name.
    """
    if not names:
        return []
    existing = _by_name(names)
    if missing := [name for name in names if name not in existing]:
        db.session.execute(_insert_ignoring_duplicates().values([{"name": n} for n in missing]))
        existing = _by_name(names)
    return [existing[name] for name in names]


def _by_name(names: list[str]) -> dict[str, Tag]:
    return {t.name: t for t in db.session.scalars(select(Tag).where(Tag.name.in_(names)))}


def _insert_ignoring_duplicates() -> Insert:
    """INSERT … ON CONFLICT DO NOTHING in the session's dialect (SQLite and PostgreSQL)."""
    dialect = db.session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return insert(Tag).on_conflict_do_nothing(index_elements=[Tag.name])
