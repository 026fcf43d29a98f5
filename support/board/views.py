"""The agent board (`/board`) and the ticket panel (`/board/tickets/<ref>`).

Views parse the form, call the ticket service and render. A panel action
answers an htmx request with the fresh panel (and `board-changed`, so the
board refreshes itself), and a plain form with a redirect to the panel page.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    make_response,
    render_template,
    request,
    url_for,
)
from flask_login import current_user, login_required
from flask_wtf import FlaskForm

from support import clock
from support.auth import accounts
from support.board import forms, panel, queries
from support.extensions import db
from support.models import CannedResponse, Impact, Priority, Status, Ticket
from support.models.ticket import Channel
from support.notify import inbox
from support.params import plain_int
from support.tickets import attachments, canned, permissions, service, similar
from support.tickets import tags as tag_names
from support.tickets.service import StaleTicket, TicketError
from support.web import redirect_after_post, render, sent_by_htmx, updated, wants_fragment

bp = Blueprint("board", __name__, url_prefix="/board")

BOARD = "board/index.html"
PANEL = "board/ticket.html"
BOARD_CHANGED = "board-changed"
ARTICLES = "kb/_suggestions.html"
SIMILAR = "board/_similar.html"
TAG_OPTIONS = "board/_tag_options.html"
ARTICLE_LINKS = {"heading": "Articles that may answer this", "insert_into": "#composer textarea"}


@bp.before_request
@login_required
def _agents_only() -> None:
    """The board is the team's: customers get 403, anonymous visitors the login page."""
    if not current_user.is_agent:
        abort(403)


# --- the board --------------------------------------------------------------------------


def _board_context(filters: queries.BoardFilters, **extra: Any) -> dict[str, Any]:
    columns = queries.load(filters, current_user, clock.now())
    return {
        "filters": filters,
        "columns": columns,
        "tag_choices": sorted(
            {name for column in columns for card in column.cards for name in card.tags}
            | ({filters.tag} if filters.tag else set())
        ),
        "teams": panel.teams(),
        "categories": panel.categories(),
        "priorities": list(Priority),
        # Each card's status select: the columns its ticket may move to (as the panel's).
        "moves": {
            status: [s for s in panel.statuses_from(status) if s in queries.COLUMNS]
            for status in queries.COLUMNS
        },
        "status_labels": panel.STATUS_LABELS,
        "poll_seconds": current_app.config["BOARD_POLL_SECONDS"],
        "message": None,
        **extra,
    }


@bp.get("")
def index() -> Response:
    filters = queries.BoardFilters.from_args(request.args)
    return render(BOARD, block="board", **_board_context(filters))


@bp.post("/move")
def move() -> Response:
    """A card dragged to a column (or moved with its status select)."""
    filters = queries.BoardFilters.from_args(request.args)
    form = forms.MoveForm()
    if not form.validate_on_submit():
        return _move_refused(filters, 400, "That move was incomplete. Reload the board.")
    if form.status.data not in {s.value for s in queries.COLUMNS}:
        return _move_refused(filters, 400, f"“{form.status.data}” is not a column of the board.")
    ticket = _editable_or_404(form.ref.data)
    try:
        service.move(
            ticket,
            actor=current_user,
            to_status=Status(form.status.data),
            position=queries.position_between(form.above.data, form.below.data),
            expected_version=form.version.data,
        )
    except TicketError as exc:
        # Stale or against the rules: either way the move conflicts with the ticket's state.
        return _move_refused(filters, 409, str(exc))
    if wants_fragment():  # the fresh board: the card where the server put it, new counts
        return render(BOARD, block="board", **_board_context(filters))
    return redirect_after_post(url_for("board.index", **filters.args()))


def _move_refused(filters: queries.BoardFilters, status: int, message: str) -> Response:
    if sent_by_htmx():
        # No swap: board.js puts the card back and app.js shows this as a toast. The board
        # refreshes itself after (board-changed): a stale card carries an old version, and
        # would be refused again on the next drag.
        body = render_template("errors/_toast.html", title="The card stays put.", advice=message)
        response = make_response(body, status)
        response.headers["HX-Reswap"] = "none"
        return updated(response, BOARD_CHANGED)
    db.session.rollback()
    return render(BOARD, status=status, **_board_context(filters, message=message))


# --- filing for a customer -------------------------------------------------------------

NEW_FOR_CUSTOMER = "board/new_ticket.html"


@bp.route("/tickets/new", methods=["GET", "POST"])
def new_ticket() -> Response:
    """File a ticket for a customer on the phone or at the desk: found by email, or made."""
    categories = panel.categories()
    form = forms.FileForCustomerForm()
    form.set_categories(categories)
    if not form.validate_on_submit():
        return render(NEW_FOR_CUSTOMER, status=422 if form.errors else 200, form=form)
    customer = accounts.find_by_email(form.email.data)
    if customer is not None and customer.is_agent:
        form.email.errors = ["That is a team member's account: file for a customer's address."]
        return render(NEW_FOR_CUSTOMER, status=422, form=form)
    if customer is None:
        if not (form.name.data or "").strip():
            form.name.errors = ["A new customer needs a name."]
            return render(NEW_FOR_CUSTOMER, status=422, form=form)
        try:
            customer = accounts.create_user(
                email=form.email.data, name=form.name.data, password=None
            )
        except accounts.EmailTaken:  # made by a concurrent request: use that one
            customer = accounts.find_by_email(form.email.data)
    try:
        ticket = service.open_ticket(
            customer=customer,
            subject=form.subject.data,
            description=form.description.data,
            category=next((c for c in categories if c.slug == form.category.data), None),
            impact=Impact(form.impact.data),
            channel=Channel.PHONE,
            client_token=form.client_token.data or None,
            filed_by=current_user,
        )
    except TicketError as exc:
        form.description.errors = [*form.description.errors, str(exc)]
        return render(NEW_FOR_CUSTOMER, status=422, form=form)
    flash(f"Filed {ticket.ref} for {customer.name}; they were sent the acknowledgement.", "success")
    return redirect_after_post(url_for("board.ticket", ref=ticket.ref))


# --- the ticket panel -------------------------------------------------------------------


def _ticket_or_404(ref: str) -> Ticket:
    ticket = panel.find(ref)
    if ticket is None:
        abort(404)
    return ticket


def _editable_or_404(ref: str) -> Ticket:
    ticket = _ticket_or_404(ref)
    if not permissions.can_edit(current_user, ticket):
        abort(403)
    return ticket


def _panel(
    ticket: Ticket,
    *,
    status: int = 200,
    bound_forms: Mapping[str, FlaskForm] | None = None,
    **extra: Any,
) -> Response:
    """The panel: just its block for htmx, else the full page."""
    is_page = not wants_fragment()
    context = panel.context(ticket, current_user, is_page=is_page, bound_forms=bound_forms, **extra)
    return render(PANEL, block="panel", status=status, **context)


def _done(ticket: Ticket, message: str) -> Response:
    if wants_fragment():
        return updated(_panel(ticket, notice=message), BOARD_CHANGED)
    flash(message, "success")
    return redirect_after_post(url_for("board.ticket", ref=ticket.ref))


def _refused(
    ticket: Ticket,
    exc: TicketError,
    section: str,
    bound_forms: Mapping[str, FlaskForm] | None = None,
) -> Response:
    """409 when someone else changed the ticket first, else 422; what was typed stays."""
    db.session.rollback()
    status = 409 if isinstance(exc, StaleTicket) else 422
    return _panel(
        ticket, status=status, bound_forms=bound_forms, error=str(exc), open_section=section
    )


@bp.get("/tickets/<ref>")
def ticket(ref: str) -> Response:
    found = _ticket_or_404(ref)
    inbox.mark_read(current_user, found)  # opening the ticket reads its news
    return _panel(found)


@bp.get("/tickets/<ref>/articles")
def articles(ref: str) -> Response:
    """Knowledge-base articles for the panel, fetched once it is open (an htmx fragment)."""
    ticket = _ticket_or_404(ref)
    hits = panel.kb_suggestions(ticket)
    body = render_template(ARTICLES, hits=hits, **ARTICLE_LINKS) if hits else ""
    response = make_response(body)
    response.vary.add("HX-Request")
    return response


@bp.post("/tickets/<ref>/reply")
def reply(ref: str) -> Response:
    """The composer: a reply or an internal note (maybe with files, a status to set and a
    macro's changes), a workaround; or a canned response filled into the text."""
    ticket = _editable_or_404(ref)
    form = forms.AgentReplyForm()
    form.set_canned(canned.all_responses())
    action = request.form.get("action", "send")
    if action in (forms.REPLY, forms.NOTE, forms.WORKAROUND):  # buttons that name their mode
        mode = forms.NOTE if action == forms.NOTE else forms.REPLY
        form.mode.data, form.mode.raw_data = mode, [mode]
        action = "send" if action != forms.WORKAROUND else action
    if action == forms.INSERT:
        return _insert_canned(ticket, form)
    if action == forms.DROP_MACRO:
        form.macro.data = ""
        return _composer_again(ticket, form, status=200)
    if action not in forms.SEND_ACTIONS and action != forms.WORKAROUND:
        abort(400)
    valid = form.validate_on_submit()
    if valid and not (form.body.data or "").strip():
        form.body.errors = ["Write a message first."]
        valid = False
    macro = _macro_of(form)
    if not valid or macro is False:
        return _composer_again(ticket, form)
    filled = canned.fill(form.body.data, canned.values_for(ticket, current_user))
    if filled.unknown and not form.send_as_written.data:
        form.body.data = filled.text  # known ones filled in; the unknown ones are flagged
        return _composer_again(ticket, form)
    then = _then(macro, forms.SEND_ACTIONS.get(action))
    stored = [attachments.store(f.filename or "", f.stream) for f in form.chosen_files()]
    try:
        sent = _send(ticket, action, form, filled.text, then, stored)
    except TicketError as exc:
        _files_again(form)
        return _refused(ticket, exc, "reply", bound_forms={"reply_form": form})
    return _done(ticket, _sent_message(sent, then))


def _macro_of(form: forms.AgentReplyForm) -> CannedResponse | bool | None:
    """The macro the composer carries: None when there is none, False (and an error on the
    form) when it was deleted meanwhile or the field was tampered with."""
    if not form.macro.data:
        return None
    macro_id = plain_int(form.macro.data)
    macro = db.session.get(CannedResponse, macro_id) if macro_id is not None else None
    if macro is None:
        form.macro.data = ""
        form.canned.errors = ["That macro no longer exists: its changes were not applied."]
        return False
    return macro


def _then(macro: CannedResponse | None, status: Status | None) -> service.Then:
    """The macro's changes, with the status of the button pressed (it wins: it was clicked)."""
    then = canned.then_of(macro) if macro is not None else canned.NOTHING
    return dataclasses.replace(then, status=status) if status is not None else then


def _send(
    ticket: Ticket,
    action: str,
    form: forms.AgentReplyForm,
    body: str,
    then: service.Then,
    files: list[attachments.StoredFile],
) -> str:
    """Hand the message to the ticket service; what was sent ("reply", "note", ...)."""
    if action == forms.WORKAROUND:
        service.offer_workaround(ticket, actor=current_user, body=body, files=files, then=then)
        return forms.WORKAROUND
    service.respond(
        ticket,
        agent=current_user,
        body=body,
        public=form.mode.data == forms.REPLY,
        then=then,
        files=files,
        client_token=form.client_token.data or None,
    )
    return form.mode.data


def _sent_message(sent: str, then: service.Then) -> str:
    done = forms.SENT[sent]
    if changes := canned.describe(then):
        return f"{done} Also: {'; '.join(changes)}."
    return done


def _files_again(form: forms.AgentReplyForm) -> None:
    if form.chosen_files():
        form.files.errors = [*form.files.errors, "Please choose your files again."]


def _composer_again(ticket: Ticket, form: forms.AgentReplyForm, status: int = 422) -> Response:
    """The panel with the composer as it was posted: text, mode and macro kept."""
    _files_again(form)
    return _panel(ticket, status=status, bound_forms={"reply_form": form})


def _insert_canned(ticket: Ticket, form: forms.AgentReplyForm) -> Response:
    choice = form.canned.data or ""
    canned_id = plain_int(choice)
    chosen = db.session.get(CannedResponse, canned_id) if canned_id is not None else None
    if chosen is None:
        form.canned.errors = ["Choose a canned response to insert."]
        return _composer_again(ticket, form)
    filled = canned.fill(chosen.body, canned.values_for(ticket, current_user))
    typed = (form.body.data or "").rstrip()
    form.body.data = f"{typed}\n\n{filled.text}" if typed else filled.text
    form.canned.data = forms.NONE
    if chosen.is_macro:
        form.macro.data = str(chosen.id)
    return _composer_again(ticket, form, status=200)


@bp.post("/tickets/<ref>/fields")
def fields(ref: str) -> Response:
    ticket = _editable_or_404(ref)
    categories, teams = panel.categories(ticket.category), panel.teams()
    form = forms.FieldsForm()
    form.set_choices(categories, teams)
    if not form.validate_on_submit():
        return _panel(ticket, status=422, bound_forms={"fields_form": form})
    by_slug = {c.slug: c for c in categories}
    by_id = {str(t.id): t for t in teams}
    try:
        changed = service.update_fields(
            ticket,
            actor=current_user,
            priority=Priority(form.priority.data),
            category=by_slug.get(form.category.data),
            team=by_id.get(form.team.data),
            expected_version=form.version.data,
        )
    except StaleTicket as exc:
        # Not the posted form: it carries all three fields, and re-sending the ones this
        # agent did not touch would undo the other agent's change.
        return _refused(ticket, exc, "fields")
    except TicketError as exc:
        return _refused(ticket, exc, "fields", bound_forms={"fields_form": form})
    return _done(ticket, "Details saved." if changed else "Nothing to change.")


@bp.post("/tickets/<ref>/assign")
def assign(ref: str) -> Response:
    ticket = _editable_or_404(ref)
    agents = panel.agents()
    form = forms.AssignForm()
    form.set_agents(agents)
    if not form.validate_on_submit():
        return _panel(ticket, status=422, bound_forms={"assign_form": form})
    assignee = next((a for a in agents if str(a.id) == form.assignee.data), None)
    try:
        service.assign(
            ticket, actor=current_user, assignee=assignee, expected_version=form.version.data
        )
    except TicketError as exc:
        return _refused(ticket, exc, "assign", bound_forms={"assign_form": form})
    return _done(ticket, f"Assigned to {assignee.name}." if assignee else "Unassigned.")


@bp.post("/tickets/<ref>/status")
def status(ref: str) -> Response:
    ticket = _editable_or_404(ref)
    form = forms.StatusForm()
    form.set_statuses(panel.next_statuses(ticket), panel.STATUS_LABELS)
    if not form.validate_on_submit():
        return _panel(ticket, status=422, bound_forms={"status_form": form}, open_section="status")
    to = Status(form.status.data)
    if to == ticket.status:
        if not form.note.data:
            return _done(ticket, "The status stays the same.")
        form.note.errors = ["The status is not changing: send this from the reply box instead."]
        return _panel(ticket, status=422, bound_forms={"status_form": form}, open_section="status")
    try:
        service.move(
            ticket,
            actor=current_user,
            to_status=to,
            position=None,
            expected_version=form.version.data,
            note=form.note.data,
        )
    except TicketError as exc:
        return _refused(ticket, exc, "status", bound_forms={"status_form": form})
    return _done(ticket, f"{ticket.ref} is now {panel.STATUS_LABELS[to].lower()}.")


@bp.post("/tickets/<ref>/tags")
def tags(ref: str) -> Response:
    ticket = _editable_or_404(ref)
    form = forms.TagsForm()
    if not form.validate_on_submit():
        return _panel(ticket, status=422, bound_forms={"tags_form": form}, open_section="tags")
    try:
        changed = service.set_tags(
            ticket, form.names(), actor=current_user, expected_version=form.version.data
        )
    except StaleTicket as exc:
        # Not the posted form: it carries every tag, and re-sending it would undo the other
        # agent's change (as with the details form).
        return _refused(ticket, exc, "tags")
    except TicketError as exc:
        return _refused(ticket, exc, "tags", bound_forms={"tags_form": form})
    return _done(ticket, "Tags saved." if changed else "The tags stay the same.")


@bp.post("/tickets/<ref>/escalate")
def escalate(ref: str) -> Response:
    ticket = _editable_or_404(ref)
    form = forms.EscalateForm()
    if not form.validate_on_submit():
        return _panel(
            ticket, status=422, bound_forms={"escalate_form": form}, open_section="escalate"
        )
    try:
        service.escalate(
            ticket, actor=current_user, reason=form.reason.data, expected_version=form.version.data
        )
    except TicketError as exc:
        return _refused(ticket, exc, "escalate", bound_forms={"escalate_form": form})
    return _done(ticket, f"Escalated to tier {ticket.tier}.")


@bp.post("/tickets/<ref>/merge")
def merge(ref: str) -> Response:
    ticket = _editable_or_404(ref)
    form = forms.MergeForm()
    target = panel.find(form.into.data or "") if form.validate_on_submit() else None
    if target is None:
        if not form.errors:
            form.into.errors = [f"There is no ticket {form.into.data.strip().upper()}."]
        return _panel(ticket, status=422, bound_forms={"merge_form": form}, open_section="merge")
    try:
        service.merge(ticket, into=target, actor=current_user, expected_version=form.version.data)
    except TicketError as exc:
        return _refused(ticket, exc, "merge", bound_forms={"merge_form": form})
    # Work carries on in the ticket that stays: show that one.
    return _done(target, f"{ticket.ref} was merged into {target.ref}.")


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
    ticket = _ticket_or_404(ref)
    if not wants_fragment():
        return _panel(ticket, **_similar_context(ticket))
    response = make_response(render_template(SIMILAR, ticket=ticket, **_similar_context(ticket)))
    response.vary.add("HX-Request")
    return response


@bp.post("/tickets/<ref>/similar/<other>/insert")
def insert_resolution(ref: str, other: str) -> Response:
    """The composer again, with how `other` was resolved added to what was typed (the
    composer's own form is posted here, by its "Insert" buttons' formaction)."""
    ticket = _editable_or_404(ref)
    source = _ticket_or_404(other)
    form = forms.AgentReplyForm()
    form.set_canned(canned.all_responses())
    resolution = similar.resolution_of(source)
    if resolution is None:
        form.body.errors = [f"{source.ref} has no reply from the team to insert."]
        return _composer_again(ticket, form)
    typed = (form.body.data or "").rstrip()
    form.body.data = f"{typed}\n\n{resolution}" if typed else resolution
    return _composer_again(ticket, form, status=200)


@bp.post("/tickets/<ref>/similar/<other>/link")
def link_similar(ref: str, other: str) -> Response:
    """Link a similar ticket: an internal event on both timelines."""
    ticket = _editable_or_404(ref)
    related = _ticket_or_404(other)
    # Posted by the composer's form when it is there (form="composer"): a draft stays.
    # (CSRFProtect has checked the token of every POST before this view.)
    draft = forms.AgentReplyForm()
    kept = {"reply_form": draft} if (draft.body.data or "").strip() else None
    try:
        service.link(ticket, to=related, actor=current_user)
    except TicketError as exc:
        return _refused(ticket, exc, "similar", bound_forms=kept)
    message = f"Linked {related.ref} to {ticket.ref}."
    if kept is None:
        return _done(ticket, message)
    return updated(_panel(ticket, bound_forms=kept, notice=message), BOARD_CHANGED)


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
