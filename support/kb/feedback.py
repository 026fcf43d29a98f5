"""Record what readers tell us: "Was this helpful?" votes and deflected tickets.

Plain functions that take the reader explicitly (None for an anonymous
visitor), so views, jobs and tests call them the same way.
"""

from __future__ import annotations

from support.extensions import db
from support.models import ArticleFeedback, Deflection, User
from support.models.kb import QUERY_MAX

COMMENT_MAX = 2000


def _user_id(user: User | None) -> int | None:
    return user.id if user is not None and user.is_authenticated else None


def record_feedback(
    slug: str, *, helpful: bool, comment: str | None = None, user: User | None = None
) -> ArticleFeedback:
    """Store one answer to "Was this helpful?" for article `slug`."""
    comment = (comment or "").strip()[:COMMENT_MAX] or None
    feedback = ArticleFeedback(slug=slug, helpful=helpful, comment=comment, user_id=_user_id(user))
    db.session.add(feedback)
    db.session.commit()
    return feedback


def record_deflection(slug: str, *, query: str, user: User | None = None) -> Deflection:
    """Article `slug` answered what the customer typed (`query`): no ticket was filed."""
    text = query.strip()[:QUERY_MAX]
    deflection = Deflection(slug=slug, typed_text=text, user_id=_user_id(user))
    db.session.add(deflection)
    db.session.commit()
    return deflection
