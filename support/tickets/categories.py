"""The starter topics customers choose from (admins edit them later)."""

from __future__ import annotations

from sqlalchemy import select

from support.extensions import db
from support.models import Category

# (slug, name) — the same slugs as the knowledge base's categories.
DEFAULT_CATEGORIES: list[tuple[str, str]] = [
    ("accounts", "Accounts & sign-in"),
    ("listings", "Listings"),
    ("orders", "Orders & transactions"),
    ("payments", "Payments"),
    ("refunds", "Refunds & disputes"),
    ("shipping", "Shipping"),
    ("privacy", "Privacy & data"),
    ("security", "Security"),
]


def ensure_default_categories() -> list[Category]:
    """Create any starter category that is missing; returns all categories."""
    existing = {c.slug: c for c in db.session.scalars(select(Category))}
    for slug, name in DEFAULT_CATEGORIES:
        if slug not in existing:
            existing[slug] = Category(slug=slug, name=name)
            db.session.add(existing[slug])
    db.session.commit()
    return list(existing.values())
