"""Record how the help centre is used, for the insights report (`support.kb.insights`).

Cheap (one or two single-row statements after the results are ready) and
anonymous: no user, no address, no ticket text. A search keeps its query
(what the help centre failed or managed to answer is the point) under a
random token per search box; suggestions keep the article slugs under the
new-ticket form's random client token.
"""

from __future__ import annotations

import secrets

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from support.extensions import db
from support.models import ArticleView, KbSearch, SuggestionShown
from support.models.kb import SEARCH_QUERY_MAX, TOKEN_LENGTH


def new_search_token() -> str:
    """A random token for one rendered search box."""
    return secrets.token_urlsafe(12)


def _token(value: str | None) -> str | None:
    value = (value or "").strip()
    return value if 8 <= len(value) <= TOKEN_LENGTH else None


def normalise_query(q: str) -> str:
    """Lowercase, single spaces, at most the search box's length."""
    return " ".join(q.lower().split())[:SEARCH_QUERY_MAX]


def record_search(q: str, results: int, token: str | None = None) -> None:
    """One search; with the same `token` (typing on in one box) the row is updated."""
    text = normalise_query(q)
    if not text:
        return
    token = _token(token)
    if token is not None:
        changed = db.session.execute(
            update(KbSearch).where(KbSearch.token == token).values(query_text=text, results=results)
        ).rowcount
        if changed:
            db.session.commit()
            return
    try:
        db.session.add(KbSearch(token=token, query_text=text, results=results))
        db.session.commit()
    except IntegrityError:  # the same box's other request inserted it first
        db.session.rollback()
        record_search(q, results, token)


def record_click(token: str | None) -> None:
    """An article was opened from the results of the search with `token`."""
    if (token := _token(token)) is None:
        return
    db.session.execute(
        update(KbSearch).where(KbSearch.token == token, ~KbSearch.clicked).values(clicked=True)
    )
    db.session.commit()


def record_view(slug: str) -> None:
    db.session.add(ArticleView(slug=slug))
    db.session.commit()


def record_suggestions(form_token: str | None, slugs: list[str]) -> None:
    """Articles shown to the writer of the new-ticket form with `form_token`, once each."""
    if (token := _token(form_token)) is None or not slugs:
        return
    seen = set(
        db.session.scalars(select(SuggestionShown.slug).where(SuggestionShown.form_token == token))
    )
    fresh = [slug for slug in dict.fromkeys(slugs) if slug not in seen]
    if not fresh:
        return
    try:
        db.session.add_all(SuggestionShown(form_token=token, slug=slug) for slug in fresh)
        db.session.commit()
    except IntegrityError:  # a parallel request of the same form recorded them
        db.session.rollback()
