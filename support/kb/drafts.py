"""A markdown draft of a new article for a content gap, for an editor to finish.

The draft is offered as a download (nothing is written on the server, and
never into kb_articles/): front matter filled like the files in kb_articles/
(so `flask kb check` accepts it once saved there), the customers' questions,
and the agents' best public replies to them as the starting text.
"""

from __future__ import annotations

import re

import yaml
from sqlalchemy import func, select

from support import clock
from support.extensions import db
from support.kb.gaps import Topic
from support.kb.library import library
from support.models import Rating, TicketEvent, User
from support.models.ticket import EventKind
from support.models.user import Role

REPLIES = 3
REPLY_MAX = 4000
FALLBACK_CATEGORY = "help-centre"


def slug_for(topic: Topic) -> str:
    return re.sub(r"[^a-z0-9]+", "-", topic.label.lower()).strip("-") or "new-article"


def best_replies(topic: Topic, limit: int = REPLIES) -> list[str]:
    """Agents' public replies on the topic's tickets: from the best-rated tickets first,
    then the longest (a full answer rather than "we're looking into it")."""
    ids = [t.id for t in topic.tickets]
    rows = db.session.execute(
        select(TicketEvent.body_text)
        .join(User, User.id == TicketEvent.actor_id)
        .outerjoin(Rating, Rating.ticket_id == TicketEvent.ticket_id)
        .where(
            TicketEvent.ticket_id.in_(ids),
            TicketEvent.kind == EventKind.REPLY,
            TicketEvent.is_public,
            User.role.in_((Role.AGENT, Role.ADMIN)),
            TicketEvent.body_text.is_not(None),
        )
        .order_by(
            func.coalesce(Rating.score, 0).desc(),
            func.length(TicketEvent.body_text).desc(),
            TicketEvent.id,
        )
        .limit(limit)
    )
    return [body.strip()[:REPLY_MAX] for (body,) in rows if body and body.strip()]


def _category(topic: Topic) -> str:
    known = {c.slug for c in library().categories}
    found = topic.category()
    return found if found in known else FALLBACK_CATEGORY


def draft_markdown(topic: Topic) -> str:
    """The draft article: YAML front matter, then the starting text."""
    meta = {
        "title": topic.label.capitalize(),
        "category": _category(topic),
        "tags": topic.label.split(),
        "summary": f"Draft from {len(topic.tickets)} tickets about “{topic.label}”: "
        "rewrite this summary before publishing.",
        "updated": clock.now().date(),
    }
    front = yaml.safe_dump(meta, allow_unicode=True, sort_keys=False, width=1000)
    questions = "\n".join(f"- {t.subject}" for t in topic.examples)
    replies = best_replies(topic)
    answer = "\n\n".join(replies) if replies else "No agent has replied to these tickets yet."
    return (
        f"---\n{front}---\n\n"
        "> Draft made from support tickets. Give it a clear title and summary, remove "
        "names, order numbers and anything personal, then save it as "
        f"kb_articles/{slug_for(topic)}.md and run `flask kb check`.\n\n"
        f"## What customers ask\n\n{questions}\n\n"
        f"## Answer\n\n{answer}\n"
    )
