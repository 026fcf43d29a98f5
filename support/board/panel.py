"""The ticket panel: one ticket with everything an agent needs to work it.

A constant number of queries whatever the ticket: the ticket with its people,
the latest page of its timeline, and the choices for the forms.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flask import current_app
from flask_wtf import FlaskForm
from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload

from support import triage
from support.board import forms
from support.board.queries import COLUMN_LABELS
from support.extensions import db
from support.kb import index as kb_index
from support.models import CannedResponse, Category, Status, Team, Ticket, User
from support.notify import outbox
from support.tickets import canned, permissions, refs, tags, timeline
from support.tickets.service import TRANSITIONS

log = logging.getLogger(__name__)

STATUS_LABELS = {**COLUMN_LABELS, Status.CLOSED: "Closed"}


@dataclass(frozen=True)
class Choices:
    categories: list[Category]
    teams: list[Team]
    agents: list[User]
    canned: list[CannedResponse]


def find(raw_ref: str) -> Ticket | None:
    """The ticket with this reference (agents may see every ticket)."""
    ref = refs.normalise(raw_ref)
    if ref is None:
        return None
    query = (
        select(Ticket)
        .where(Ticket.ref == ref)
        .options(
            joinedload(Ticket.customer),
            joinedload(Ticket.assignee),
            joinedload(Ticket.category),
            joinedload(Ticket.team),
            selectinload(Ticket.tags),
        )
    )
    return db.session.scalar(query)


def find_to_move(raw_ref: str) -> Ticket | None:
    """The ticket a board move changes, with its customer (a move tells them) but not the
    panel's category, team and tags: a move neither shows nor needs them (a statement
    and three joins less; anything else it reads still loads when read)."""
    ref = refs.normalise(raw_ref)
    if ref is None:
        return None
    query = select(Ticket).where(Ticket.ref == ref).options(joinedload(Ticket.customer))
    return db.session.scalar(query)


def categories(current: Category | None = None) -> list[Category]:
    """The active categories, plus the ticket's own if an admin has since hidden it (so
    saving other details never drops it)."""
    query = select(Category).where(Category.is_active.is_(True)).order_by(Category.name)
    found = list(db.session.scalars(query))
    if current is not None and current not in found:
        found.append(current)
    return found


def teams() -> list[Team]:
    return list(db.session.scalars(select(Team).order_by(Team.name)))


def agents() -> list[User]:
    return permissions.assignable_agents()


def choices(ticket: Ticket) -> Choices:
    return Choices(categories(ticket.category), teams(), agents(), canned.all_responses())


def statuses_from(status: Status) -> list[Status]:
    """Where a ticket in `status` may go, itself first: the service's transitions, less
    escalating (it needs a reason, so it has its own form)."""
    allowed = TRANSITIONS[status] - {Status.ESCALATED}
    return [status, *(s for s in Status if s in allowed)]


def next_statuses(ticket: Ticket) -> list[Status]:
    """The panel's status select: where the ticket may go from here."""
    return statuses_from(ticket.status)


def fresh_forms(ticket: Ticket) -> dict[str, Any]:
    """Unbound forms showing the ticket as it is now."""
    reply_form = forms.AgentReplyForm(formdata=None)
    fields_form = forms.FieldsForm(
        formdata=None,
        data={
            "priority": ticket.priority.value,
            "category": ticket.category.slug if ticket.category else forms.NONE,
            "team": str(ticket.team_id or forms.NONE),
        },
    )
    assign_form = forms.AssignForm(
        formdata=None, data={"assignee": str(ticket.assignee_id or forms.NONE)}
    )
    status_form = forms.StatusForm(formdata=None, data={"status": ticket.status.value})
    tags_form = forms.TagsForm(
        formdata=None, data={"tags": ", ".join(tag.name for tag in ticket.tags)}
    )
    return {
        "reply_form": reply_form,
        "fields_form": fields_form,
        "assign_form": assign_form,
        "status_form": status_form,
        "tags_form": tags_form,
        "escalate_form": forms.EscalateForm(formdata=None),
        "merge_form": forms.MergeForm(formdata=None),
    }


def _fill_choices(ticket: Ticket, options: Choices, all_forms: dict[str, Any]) -> None:
    all_forms["reply_form"].set_canned(options.canned)
    all_forms["fields_form"].set_choices(options.categories, options.teams)
    all_forms["assign_form"].set_agents(options.agents)
    all_forms["status_form"].set_statuses(next_statuses(ticket), STATUS_LABELS)


def _macro(chosen: str | None, responses: list[CannedResponse]) -> CannedResponse | None:
    """The macro the composer carries, from the responses already loaded (no query)."""
    return next((r for r in responses if chosen and str(r.id) == chosen and r.is_macro), None)


def _then_more(typed: str | None) -> str:
    """The tags typed, ready for one more (what the box suggests before any typing)."""
    return f"{typed.rstrip().rstrip(',')}, " if typed and typed.strip() else ""


def kb_suggestions(ticket: Ticket) -> list[Any]:
    """Knowledge-base articles an agent may link into the reply."""
    try:
        return kb_index.suggest(ticket.description, subject=ticket.subject)
    except Exception:  # a broken index must never keep an agent from the ticket
        log.exception("Knowledge-base suggestions failed for %s", ticket.ref)
        return []


def context(
    ticket: Ticket,
    viewer: User,
    *,
    is_page: bool,
    bound_forms: Mapping[str, FlaskForm] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """Everything the panel template needs. `bound_forms` are posted forms, by their name in
    the template ("reply_form", ...), shown in place of fresh ones so what was typed and its
    errors stay; `extra` are messages (error, notice, open_section)."""
    options = choices(ticket)
    all_forms = fresh_forms(ticket)
    if unknown := set(bound_forms or {}) - set(all_forms):
        raise ValueError(f"The panel has no form named {', '.join(sorted(unknown))}")
    all_forms.update(bound_forms or {})
    _fill_choices(ticket, options, all_forms)
    page = timeline.latest(ticket, viewer, limit=current_app.config["TIMELINE_PAGE_SIZE"])
    body = all_forms["reply_form"].body.data or ""
    macro = _macro(all_forms["reply_form"].macro.data, options.canned)
    return {
        "ticket": ticket,
        "page": page,
        "choices": options,
        "status_labels": STATUS_LABELS,
        "unknown_placeholders": canned.unknown_in(body),
        "placeholders": canned.PLACEHOLDERS,
        "macro_changes": canned.describe(canned.then_of(macro)) if macro else [],
        # The drawer fetches them after it opens (GET .../articles): it stays quick.
        "kb_suggestions": kb_suggestions(ticket) if is_page else [],
        "category_suggestion": triage.latest_suggestion(ticket),
        "customer_bouncing": outbox.is_bouncing(ticket.customer.email),
        # The tag box's suggestions: each tag in use after the tags already there.
        "tag_options": tags.completions(
            _then_more(all_forms["tags_form"].tags.data), tags.in_use()
        ),
        # Similar past tickets come by themselves once the section is seen (GET .../similar);
        # the page without script asks for them with a link.
        "similar": None,
        "linked": set(),
        "error": None,
        "notice": None,
        "open_section": None,
        **all_forms,
        "is_page": is_page,
        **extra,
    }
