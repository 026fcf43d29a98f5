"""The customer portal: file a ticket, list my tickets, follow a ticket's timeline."""

from __future__ import annotations

from collections.abc import Mapping

from flask import Blueprint, Response, abort, current_app, flash, redirect, request, url_for
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from sqlalchemy import select
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.interfaces import ORMOption

from support import ratelimit, settings_cache
from support.extensions import db
from support.forms import EmptyForm, RatingForm
from support.kb import index as kb_index
from support.models import Attachment, Category, Impact, Priority, Rating, Ticket
from support.notify import inbox
from support.params import plain_int
from support.portal.forms import ReplyForm, TicketForm, chosen_files
from support.tickets import attachments, permissions, service, sla, timeline
from support.tickets.service import TicketClosed, TicketError
from support.web import (
    redirect_after_post,
    render,
    render_fragment,
    send_attachment,
    updated,
    wants_fragment,
)

bp = Blueprint("portal", __name__, url_prefix="/tickets")

DETAIL = "portal/ticket.html"


def _event_id(value: str) -> int:
    """An event id from the query string; out of range counts as missing (ValueError)."""
    number = plain_int(value)
    if number is None:
        raise ValueError(value)
    return number


@bp.before_request
@login_required
def _require_login() -> None:
    """Every portal page needs an account."""


def _ticket_or_404(ref: str, *options: ORMOption) -> Ticket:
    ticket = permissions.find_visible_ticket(current_user, ref, *options)
    if ticket is None:
        abort(404)
    return ticket


def _owned_or_404(ref: str) -> Ticket:
    """Actions only the ticket's customer may take; others get the same 404."""
    ticket = _ticket_or_404(ref)
    if not permissions.is_owner(current_user, ticket):
        abort(404)
    return ticket


MY_TICKETS_PAGE = 50


@bp.get("/")
def my_tickets() -> Response:
    if current_user.is_agent:
        # An agent's tickets are the team's: the queue lists, sorts and searches them.
        return redirect(url_for("queue.index"))
    page = min(max(request.args.get("page", 1, type=int) or 1, 1), 10_000)
    query = (
        permissions.visible_tickets(current_user)
        .options(joinedload(Ticket.category))
        .order_by(Ticket.updated_at.desc(), Ticket.id.desc())
        .offset((page - 1) * MY_TICKETS_PAGE)
        .limit(MY_TICKETS_PAGE + 1)  # one more tells whether there is an older page
    )
    tickets = db.session.scalars(query).all()
    return render(
        "portal/my_tickets.html",
        tickets=tickets[:MY_TICKETS_PAGE],
        page=page,
        has_older=len(tickets) > MY_TICKETS_PAGE,
    )


@bp.route("/new", methods=["GET", "POST"])
@ratelimit.ticket_filing
def new_ticket() -> Response:
    categories = settings_cache.active_categories()
    form = TicketForm()
    form.set_categories(categories)
    if form.validate_on_submit():
        chosen = next((c for c in categories if c.slug == form.category.data), None)
        stored = [attachments.store(f.filename or "", f.stream) for f in chosen_files(form.files)]
        try:
            ticket = service.open_ticket(
                customer=current_user,
                subject=form.subject.data,
                description=form.description.data,
                category=db.session.get(Category, chosen.id) if chosen else None,
                impact=Impact(form.impact.data),
                files=stored,
                client_token=form.client_token.data or None,
            )
        except TicketError as exc:
            form.description.errors = [*form.description.errors, str(exc)]
        else:
            return redirect_after_post(url_for("portal.submitted", ref=ticket.ref))
    if form.errors and chosen_files(form.files):
        form.files.errors = [*form.files.errors, "Please choose your files again."]
    status = 422 if form.errors else 200
    usual_first_reply = sla.in_words(sla.targets_for(Priority.NORMAL))
    return render(
        "portal/new_ticket.html",
        block="form",
        status=status,
        form=form,
        usual_first_reply=usual_first_reply,
    )


@bp.get("/<ref>/submitted")
def submitted(ref: str) -> Response:
    ticket = _owned_or_404(ref)
    return render("portal/submitted.html", ticket=ticket, promise=sla.promise(ticket))


def _detail_context(
    ticket: Ticket,
    before: int | None = None,
    *,
    bound_forms: Mapping[str, FlaskForm] | None = None,
) -> dict:
    """The ticket page's context; `bound_forms` ("reply_form", "rating_form") are posted
    forms shown in place of fresh ones, so what was typed and its errors stay."""
    bound_forms = bound_forms or {}
    page = timeline.latest(
        ticket, current_user, limit=current_app.config["TIMELINE_PAGE_SIZE"], before=before
    )
    # Shown (and rated) only once the ticket is resolved or closed: not read before.
    rating = None
    if not ticket.status.is_active:
        rating = db.session.scalar(select(Rating).where(Rating.ticket_id == ticket.id))
    return {
        "ticket": ticket,
        "page": page,
        "paging_back": before is not None,
        "promise": sla.promise(ticket),
        "rating": rating,
        "is_owner": permissions.is_owner(current_user, ticket),
        "reply_form": bound_forms.get("reply_form") or ReplyForm(),
        "rating_form": bound_forms.get("rating_form") or RatingForm(),
        "action_form": EmptyForm(),
        "poll_seconds": current_app.config["TIMELINE_POLL_SECONDS"],
    }


# The page's summary names the ticket's topic: read with the ticket, not on its own.
WITH_CATEGORY = joinedload(Ticket.category)


@bp.get("/<ref>")
def detail(ref: str) -> Response:
    ticket = _ticket_or_404(ref, WITH_CATEGORY)
    before = request.args.get("before", type=_event_id)
    inbox.read_ticket_news(current_user, ticket)
    kb_suggestions = []
    if current_user.is_agent:  # articles they can link into a reply
        kb_suggestions = kb_index.suggest(ticket.description, subject=ticket.subject)
    return render(DETAIL, **_detail_context(ticket, before), kb_suggestions=kb_suggestions)


@bp.get("/<ref>/events")
def events(ref: str) -> Response:
    """Polled by the timeline: events after `after`, then a poller for the next round."""
    ticket = _ticket_or_404(ref)
    after = request.args.get("after", 0, type=_event_id)
    new = timeline.since(ticket, current_user, after)
    response = render_fragment(
        DETAIL,
        "new_events",
        ticket=ticket,
        events=new,
        last_id=new[-1].id if new else after,
        poll_seconds=current_app.config["TIMELINE_POLL_SECONDS"],
    )
    return updated(response, "timeline-advanced") if new else response


@bp.get("/<ref>/earlier")
def earlier(ref: str) -> Response:
    ticket = _ticket_or_404(ref)
    before = request.args.get("before", type=_event_id)
    page = timeline.latest(
        ticket, current_user, limit=current_app.config["TIMELINE_PAGE_SIZE"], before=before
    )
    return render_fragment(DETAIL, "earlier_events", ticket=ticket, page=page)


@bp.get("/<ref>/summary")
def summary(ref: str) -> Response:
    ticket = _ticket_or_404(ref, WITH_CATEGORY)
    return render_fragment(DETAIL, "summary", **_detail_context(ticket))


@bp.post("/<ref>/reply")
def reply(ref: str) -> Response:
    ticket = _owned_or_404(ref)
    form = ReplyForm()
    if form.validate_on_submit():
        stored = [attachments.store(f.filename or "", f.stream) for f in chosen_files(form.files)]
        try:
            landed = service.customer_reply(
                ticket,
                customer=current_user,
                body=form.body.data,
                files=stored,
                client_token=form.client_token.data or None,
            )
            if landed is not ticket:  # one object per row in the session
                flash(_where_the_reply_went(ticket, landed), "info")
                return redirect_after_post(url_for("portal.detail", ref=landed.ref))
        except TicketError as exc:
            form.body.errors = [*form.body.errors, str(exc)]
        else:
            if wants_fragment():
                fresh = render(
                    DETAIL, block="reply_form", reply_form=ReplyForm(formdata=None), ticket=ticket
                )
                return updated(fresh, "ticket-updated")
            return redirect_after_post(url_for("portal.detail", ref=ticket.ref) + "#latest")
    if form.errors and chosen_files(form.files):
        form.files.errors = [*form.files.errors, "Please choose your files again."]
    return render(
        DETAIL,
        block="reply_form",
        status=422,
        **_detail_context(ticket, bound_forms={"reply_form": form}),
    )


def _where_the_reply_went(ticket: Ticket, landed: Ticket) -> str:
    if ticket.merged_into_id is not None:
        return f"{ticket.ref} was merged into {landed.ref}, so we added your reply there."
    return f"{ticket.ref} is closed, so we opened {landed.ref} for your reply."


def _after_action(ticket: Ticket, message: str) -> Response:
    if wants_fragment():
        response = render(DETAIL, block="summary", **_detail_context(ticket))
        return updated(response, "ticket-updated")
    flash(message, "success")
    return redirect_after_post(url_for("portal.detail", ref=ticket.ref))


@bp.post("/<ref>/resolve")
def resolve(ref: str) -> Response:
    ticket = _owned_or_404(ref)
    if not EmptyForm().validate_on_submit():
        abort(400)
    service.resolve_by_customer(ticket, customer=current_user)
    return _after_action(ticket, "Thanks! We marked your request as resolved.")


@bp.post("/<ref>/reopen")
def reopen(ref: str) -> Response:
    ticket = _owned_or_404(ref)
    if not EmptyForm().validate_on_submit():
        abort(400)
    try:
        service.reopen(ticket, actor=current_user)
    except TicketClosed as exc:
        flash(str(exc), "error")  # and no "we reopened it" on top of it
        return redirect_after_post(url_for("portal.detail", ref=ticket.ref))
    return _after_action(ticket, "We reopened your request; our team will pick it up.")


@bp.post("/<ref>/rating")
def rate(ref: str) -> Response:
    ticket = _owned_or_404(ref)
    form = RatingForm()
    if form.validate_on_submit():
        try:
            service.rate(
                ticket,
                customer=current_user,
                score=int(form.score.data),
                comment=form.comment.data,
            )
        except TicketError as exc:
            form.score.errors = [*form.score.errors, str(exc)]
        else:
            return _after_action(ticket, "Thank you for rating our support.")
    return render(
        DETAIL,
        block="summary",
        status=422,
        **_detail_context(ticket, bound_forms={"rating_form": form}),
    )


@bp.get("/<ref>/attachments/<int:attachment_id>/<path:filename>")
def download(ref: str, attachment_id: int, filename: str) -> Response:
    ticket = _ticket_or_404(ref)
    attachment = db.session.get(Attachment, attachment_id)
    if attachment is None or attachment.ticket_id != ticket.id:
        abort(404)
    if not permissions.can_read_attachment(current_user, attachment):
        abort(404)
    return send_attachment(attachment)
