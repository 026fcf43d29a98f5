"""The card panel's side routes, on the board's blueprint (support/board/views.py):
what the panel fetches once it is open (knowledge-base articles, similar past tickets,
the tag box's suggestions) and the similar tickets' own actions (insert a resolution,
link a ticket). Same addresses and endpoint names ("board.similar_tickets", ...) as
when they lived in views.py.
"""

from __future__ import annotations

from typing import Any

from flask import Response, make_response, render_template, request
from flask_login import current_user

from support.board import forms, panel
from support.board.views import (
    BOARD_CHANGED,
    bp,
    composer_again,
    editable_or_404,
    panel_changed,
    panel_refused,
    panel_response,
    ticket_or_404,
)
from support.models import Ticket
from support.tickets import canned, service, similar
from support.tickets import tags as tag_names
from support.tickets.service import TicketError
from support.web import updated, wants_fragment

ARTICLES = "kb/_suggestions.html"
SIMILAR = "board/_similar.html"
TAG_OPTIONS = "board/_tag_options.html"
ARTICLE_LINKS = {"heading": "Articles that may answer this", "insert_into": "#composer textarea"}


@bp.get("/tickets/<ref>/articles")
def articles(ref: str) -> Response:
    """Knowledge-base articles for the panel, fetched once it is open (an htmx fragment)."""
    ticket = ticket_or_404(ref)
    hits = panel.kb_suggestions(ticket)
    body = render_template(ARTICLES, hits=hits, **ARTICLE_LINKS) if hits else ""
    response = make_response(body)
    response.vary.add("HX-Request")
    return response


# --- similar past tickets ----------------------------------------------------------------


def _similar_context(ticket: Ticket) -> dict[str, Any]:
    return {
        "similar": similar.find(ticket, current_user),
        "linked": service.linked_refs(ticket),
    }


@bp.get("/tickets/<ref>/similar")
def similar_tickets(ref: str) -> Response:
    """Resolved tickets close to this one: a fragment the panel fetches when the section
    scrolls into view; without script, the panel page with the section in it."""
    ticket = ticket_or_404(ref)
    if not wants_fragment():
        return panel_response(ticket, **_similar_context(ticket))
    response = make_response(render_template(SIMILAR, ticket=ticket, **_similar_context(ticket)))
    response.vary.add("HX-Request")
    return response


@bp.post("/tickets/<ref>/similar/<other>/insert")
def insert_resolution(ref: str, other: str) -> Response:
    """The composer again, with how `other` was resolved added to what was typed (the
    composer's own form is posted here, by its "Insert" buttons' formaction)."""
    ticket = editable_or_404(ref)
    source = ticket_or_404(other)
    form = forms.AgentReplyForm()
    form.set_canned(canned.all_responses())
    resolution = similar.resolution_of(source)
    if resolution is None:
        form.body.errors = [f"{source.ref} has no reply from the team to insert."]
        return composer_again(ticket, form)
    typed = (form.body.data or "").rstrip()
    form.body.data = f"{typed}\n\n{resolution}" if typed else resolution
    return composer_again(ticket, form, status=200)


@bp.post("/tickets/<ref>/similar/<other>/link")
def link_similar(ref: str, other: str) -> Response:
    """Link a similar ticket: an internal event on both timelines."""
    ticket = editable_or_404(ref)
    related = ticket_or_404(other)
    # Posted by the composer's form when it is there (form="composer"): a draft stays.
    # (CSRFProtect has checked the token of every POST before this view.)
    draft = forms.AgentReplyForm()
    kept = {"reply_form": draft} if (draft.body.data or "").strip() else None
    try:
        service.link(ticket, to=related, actor=current_user)
    except TicketError as exc:
        return panel_refused(ticket, exc, "similar", bound_forms=kept)
    message = f"Linked {related.ref} to {ticket.ref}."
    if kept is None:
        return panel_changed(ticket, message)
    return updated(panel_response(ticket, bound_forms=kept, notice=message), BOARD_CHANGED)


# --- tags ----------------------------------------------------------------------------------


@bp.get("/tags/options")
def tag_options() -> Response:
    """`<option>`s for a tag box's datalist as the agent types: the tags in use that
    complete the last name typed (a box of several tags keeps the ones before it)."""
    typed = request.args.get("tags", request.args.get("tag", ""))[:1000]
    options = tag_names.completions(typed, tag_names.in_use())
    response = make_response(render_template(TAG_OPTIONS, options=options))
    response.vary.add("HX-Request")
    return response
