"""The agent board (`/board`) and the ticket panel (`/board/tickets/<ref>`).

Views parse the form, call the ticket service and render. A panel action
answers an htmx request with the fresh panel (and `board-changed`, so the
board refreshes itself), and a plain form with a redirect to the panel page.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
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

from support import clock, settings_cache
from support.auth import accounts
from support.board import forms, panel, queries
from support.extensions import db
from support.models import CannedResponse, Impact, Priority, Status, Ticket
from support.models.ticket import Channel
from support.notify import inbox
from support.params import plain_int
from support.tickets import attachments, canned, permissions, service
from support.tickets.service import StaleTicket, TicketError
from support.web import redirect_after_post, render, sent_by_htmx, updated, wants_fragment

bp = Blueprint("board", __name__, url_prefix="/board")

BOARD = "board/index.html"
PANEL = "board/ticket.html"
BOARD_CHANGED = "board-changed"


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
        "teams": settings_cache.teams(),
        "categories": settings_cache.active_categories(),
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
    ticket = editable_or_404(form.ref.data, find=panel.find_to_move)
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


def ticket_or_404(ref: str, find: Callable[[str], Ticket | None] = panel.find) -> Ticket:
    ticket = find(ref)
    if ticket is None:
        abort(404)
    return ticket


def editable_or_404(ref: str, find: Callable[[str], Ticket | None] = panel.find) -> Ticket:
    ticket = ticket_or_404(ref, find)
    if not permissions.can_edit(current_user, ticket):
        abort(403)
    return ticket


def panel_response(
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


def panel_changed(ticket: Ticket, message: str) -> Response:
    if wants_fragment():
        return updated(panel_response(ticket, notice=message), BOARD_CHANGED)
    flash(message, "success")
    return redirect_after_post(url_for("board.ticket", ref=ticket.ref))


def panel_refused(
    ticket: Ticket,
    exc: TicketError,
    section: str,
    bound_forms: Mapping[str, FlaskForm] | None = None,
) -> Response:
    """409 when someone else changed the ticket first, else 422; what was typed stays."""
    db.session.rollback()
    status = 409 if isinstance(exc, StaleTicket) else 422
    return panel_response(
        ticket, status=status, bound_forms=bound_forms, error=str(exc), open_section=section
    )


@bp.get("/tickets/<ref>")
def ticket(ref: str) -> Response:
    found = ticket_or_404(ref)
    inbox.read_ticket_news(current_user, found)
    return panel_response(found)


@bp.post("/tickets/<ref>/reply")
def reply(ref: str) -> Response:
    """The composer: a reply or an internal note (maybe with files, a status to set and a
    macro's changes), a workaround; or a canned response filled into the text."""
    ticket = editable_or_404(ref)
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
        return composer_again(ticket, form, status=200)
    if action not in forms.SEND_ACTIONS and action != forms.WORKAROUND:
        abort(400)
    valid = form.validate_on_submit()
    if valid and not (form.body.data or "").strip():
        form.body.errors = ["Write a message first."]
        valid = False
    macro = _macro_of(form)
    if not valid or macro is False:
        return composer_again(ticket, form)
    filled = canned.fill(form.body.data, canned.values_for(ticket, current_user))
    if filled.unknown and not form.send_as_written.data:
        form.body.data = filled.text  # known ones filled in; the unknown ones are flagged
        return composer_again(ticket, form)
    then = _then(macro, forms.SEND_ACTIONS.get(action))
    stored = [attachments.store(f.filename or "", f.stream) for f in form.chosen_files()]
    try:
        sent = _send(ticket, action, form, filled.text, then, stored)
    except TicketError as exc:
        _files_again(form)
        return panel_refused(ticket, exc, "reply", bound_forms={"reply_form": form})
    return panel_changed(ticket, _sent_message(sent, then))


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


def composer_again(ticket: Ticket, form: forms.AgentReplyForm, status: int = 422) -> Response:
    """The panel with the composer as it was posted: text, mode and macro kept."""
    _files_again(form)
    return panel_response(ticket, status=status, bound_forms={"reply_form": form})


def _insert_canned(ticket: Ticket, form: forms.AgentReplyForm) -> Response:
    choice = form.canned.data or ""
    canned_id = plain_int(choice)
    chosen = db.session.get(CannedResponse, canned_id) if canned_id is not None else None
    if chosen is None:
        form.canned.errors = ["Choose a canned response to insert."]
        return composer_again(ticket, form)
    filled = canned.fill(chosen.body, canned.values_for(ticket, current_user))
    typed = (form.body.data or "").rstrip()
    form.body.data = f"{typed}\n\n{filled.text}" if typed else filled.text
    form.canned.data = forms.NONE
    if chosen.is_macro:
        form.macro.data = str(chosen.id)
    return composer_again(ticket, form, status=200)


@bp.post("/tickets/<ref>/fields")
def fields(ref: str) -> Response:
    ticket = editable_or_404(ref)
    categories, teams = panel.categories(ticket.category), panel.teams()
    form = forms.FieldsForm()
    form.set_choices(categories, teams)
    if not form.validate_on_submit():
        return panel_response(ticket, status=422, bound_forms={"fields_form": form})
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
        return panel_refused(ticket, exc, "fields")
    except TicketError as exc:
        return panel_refused(ticket, exc, "fields", bound_forms={"fields_form": form})
    return panel_changed(ticket, "Details saved." if changed else "Nothing to change.")


@bp.post("/tickets/<ref>/assign")
def assign(ref: str) -> Response:
    ticket = editable_or_404(ref)
    agents = panel.agents()
    form = forms.AssignForm()
    form.set_agents(agents)
    if not form.validate_on_submit():
        return panel_response(ticket, status=422, bound_forms={"assign_form": form})
    assignee = next((a for a in agents if str(a.id) == form.assignee.data), None)
    try:
        service.assign(
            ticket, actor=current_user, assignee=assignee, expected_version=form.version.data
        )
    except TicketError as exc:
        return panel_refused(ticket, exc, "assign", bound_forms={"assign_form": form})
    return panel_changed(ticket, f"Assigned to {assignee.name}." if assignee else "Unassigned.")


@bp.post("/tickets/<ref>/status")
def status(ref: str) -> Response:
    ticket = editable_or_404(ref)
    form = forms.StatusForm()
    form.set_statuses(panel.next_statuses(ticket), panel.STATUS_LABELS)
    if not form.validate_on_submit():
        return panel_response(
            ticket, status=422, bound_forms={"status_form": form}, open_section="status"
        )
    to = Status(form.status.data)
    if to == ticket.status:
        if not form.note.data:
            return panel_changed(ticket, "The status stays the same.")
        form.note.errors = ["The status is not changing: send this from the reply box instead."]
        return panel_response(
            ticket, status=422, bound_forms={"status_form": form}, open_section="status"
        )
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
        return panel_refused(ticket, exc, "status", bound_forms={"status_form": form})
    return panel_changed(ticket, f"{ticket.ref} is now {panel.STATUS_LABELS[to].lower()}.")


@bp.post("/tickets/<ref>/tags")
def tags(ref: str) -> Response:
    ticket = editable_or_404(ref)
    form = forms.TagsForm()
    if not form.validate_on_submit():
        return panel_response(
            ticket, status=422, bound_forms={"tags_form": form}, open_section="tags"
        )
    try:
        changed = service.set_tags(
            ticket, form.names(), actor=current_user, expected_version=form.version.data
        )
    except StaleTicket as exc:
        # Not the posted form: it carries every tag, and re-sending it would undo the other
        # agent's change (as with the details form).
        return panel_refused(ticket, exc, "tags")
    except TicketError as exc:
        return panel_refused(ticket, exc, "tags", bound_forms={"tags_form": form})
    return panel_changed(ticket, "Tags saved." if changed else "The tags stay the same.")


@bp.post("/tickets/<ref>/escalate")
def escalate(ref: str) -> Response:
    ticket = editable_or_404(ref)
    form = forms.EscalateForm()
    if not form.validate_on_submit():
        return panel_response(
            ticket, status=422, bound_forms={"escalate_form": form}, open_section="escalate"
        )
    try:
        service.escalate(
            ticket, actor=current_user, reason=form.reason.data, expected_version=form.version.data
        )
    except TicketError as exc:
        return panel_refused(ticket, exc, "escalate", bound_forms={"escalate_form": form})
    return panel_changed(ticket, f"Escalated to tier {ticket.tier}.")


@bp.post("/tickets/<ref>/merge")
def merge(ref: str) -> Response:
    ticket = editable_or_404(ref)
    form = forms.MergeForm()
    target = panel.find(form.into.data or "") if form.validate_on_submit() else None
    if target is None:
        if not form.errors:
            form.into.errors = [f"There is no ticket {form.into.data.strip().upper()}."]
        return panel_response(
            ticket, status=422, bound_forms={"merge_form": form}, open_section="merge"
        )
    try:
        service.merge(ticket, into=target, actor=current_user, expected_version=form.version.data)
    except TicketError as exc:
        return panel_refused(ticket, exc, "merge", bound_forms={"merge_form": form})
    # Work carries on in the ticket that stays: show that one.
    return panel_changed(target, f"{ticket.ref} was merged into {target.ref}.")


# The panel's side routes (articles, similar tickets, tag suggestions) live in their own
# module on this blueprint; importing it registers them.
from support.board import panel_views  # noqa: E402, F401
