"""/admin/mail: every inbound message that could not be filed, with the reason, the
original, and what an admin can do about it; and the inbound-mail settings.

Thin views: the actions and the settings are support.mail.inbound.quarantine's, the
lists support.mail.review's. Every action works as a plain form (303 back to the page
with a flash) and, with htmx, swaps the message's own row for the result.
"""

from __future__ import annotations

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    make_response,
    render_template,
    request,
    url_for,
)
from flask_login import current_user
from jinja2_fragments.flask import render_block
from wtforms import BooleanField, IntegerField, StringField
from wtforms.validators import InputRequired, NumberRange

from support.admin import access
from support.extensions import db
from support.forms import BaseForm, EmptyForm
from support.mail import review
from support.mail.inbound import quarantine
from support.mail.inbound.settings import CAP_MAX
from support.models import InboundMessage, InboundStatus, Outcome
from support.params import plain_int
from support.web import redirect_after_post, render, wants_fragment

bp = access.audited(
    access.admins_only(Blueprint("mail_admin", __name__, url_prefix="/admin/mail")), "mail"
)

PAGE = "admin/mail.html"
_CAP = [
    InputRequired("Enter a number: 0 means no limit."),
    NumberRange(0, CAP_MAX, f"Enter a number from 0 (no limit) to {CAP_MAX:,}."),
]
OUTCOME_TEXT = {
    Outcome.NEW: "filed as a new ticket",
    Outcome.REPLY: "added as a reply",
    Outcome.FOLLOW_UP: "filed as a follow-up ticket",
    Outcome.NOTE: "added as an internal note",
    Outcome.IGNORED_AUTOMATIC: "recognised as automatic mail and ignored",
    Outcome.BOUNCE: "recorded as a bounce",
}


class MailSettingsForm(BaseForm):
    only_known_customers = BooleanField(
        "Only known customers",
        description="Mail from an address without an account waits here instead of "
        "becoming a ticket (and an account).",
    )
    max_new_tickets_per_hour = IntegerField(
        "New tickets per sender and hour", validators=_CAP, description="0: no limit."
    )
    max_acknowledgements_per_hour = IntegerField(
        "Acknowledgements per sender and hour", validators=_CAP, description="0: no limit."
    )


class AttachForm(BaseForm):
    ref = StringField("Ticket reference")


def _settings_form() -> MailSettingsForm:
    rules = quarantine.current_settings()
    return MailSettingsForm(
        formdata=None,
        data={
            "only_known_customers": rules.only_known_customers,
            "max_new_tickets_per_hour": rules.max_new_tickets_per_hour,
            "max_acknowledgements_per_hour": rules.max_acknowledgements_per_hour,
        },
    )


def _before() -> int | None:
    return plain_int(request.args.get("before"))


def _page(
    status: int = 200,
    settings_form: MailSettingsForm | None = None,
    error_for: int | None = None,
    error: str | None = None,
    typed_ref: str = "",
) -> Response:
    page = review.waiting(_before())
    return render(
        PAGE,
        status=status,
        page=page,
        waiting_total=page.total,
        before=_before(),
        handled=review.recently_handled(),
        settings_form=settings_form or _settings_form(),
        button=EmptyForm(formdata=None),
        error_for=error_for,
        error=error,
        typed_ref=typed_ref,
        outcome_text=OUTCOME_TEXT,
    )


def _row(message: InboundMessage, *, status: int = 200, **context: object) -> Response:
    """The message's own row after an action (htmx): its result or its error, with the
    count and the "recently handled" list swapped out of band so the page stays true."""
    row = render_block(
        PAGE,
        "message_row",
        message=message,
        button=EmptyForm(formdata=None),
        outcome_text=OUTCOME_TEXT,
        before=_before(),
        **{"error_for": None, "error": None, "typed_ref": "", "done": None, **context},
    )
    count = render_block(PAGE, "waiting_count", waiting_total=review.waiting_count(), oob=True)
    handled = render_block(PAGE, "handled_list", handled=review.recently_handled(), oob=True)
    response = make_response(row + count + handled, status)
    response.vary.add("HX-Request")
    return response


def _back() -> str:
    return url_for("mail_admin.inbox", before=_before())


def _message_or_404(message_id: int) -> InboundMessage:
    message = review.message(message_id)
    if message is None:
        abort(404)
    return message


def _result(message: InboundMessage) -> tuple[str, str]:
    """(flash category, sentence) for what an action made of a message."""
    db.session.refresh(message)
    if message.status == InboundStatus.DISCARDED:
        return "success", "Discarded. The original is kept for the record."
    if message.status == InboundStatus.QUARANTINED:
        return "error", f"Still not filed: {message.reason or 'no reason given'}"
    text = OUTCOME_TEXT.get(message.outcome, "filed") if message.outcome else "filed"
    where = f" ({message.ticket.ref})" if message.ticket else ""
    return "success", f"Message {text}{where}."


def _answer(message: InboundMessage) -> Response:
    category, sentence = _result(message)
    if wants_fragment():
        return _row(message, done=(category, sentence))
    flash(sentence, category)
    return redirect_after_post(_back())


def _refused(exc: Exception) -> Response:
    """The message was handled meanwhile (another admin, another tab): say so."""
    db.session.rollback()
    if wants_fragment():  # not swapped: the page's toast says it (static/js/app.js)
        toast = render_template(
            "errors/_toast.html",
            title="Already handled.",
            advice=f"{exc} Nothing was changed; reload the page to see the list as it is now.",
        )
        return make_response(toast, 409)
    flash(f"{exc} Nothing was changed.", "error")
    return redirect_after_post(_back())


def _checked(message_id: int) -> InboundMessage:
    message = _message_or_404(message_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    return message


@bp.get("/")
def inbox() -> Response:
    return _page()


@bp.get("/messages/<int:message_id>.eml")
def original(message_id: int) -> Response:
    """The message as received: always a download (it is untrusted), never rendered."""
    message = _message_or_404(message_id)
    response = make_response(review.raw(message))
    response.headers["Content-Type"] = "application/octet-stream"
    response.headers["Content-Disposition"] = f'attachment; filename="message-{message.id}.eml"'
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.post("/messages/<int:message_id>/retry")
def retry(message_id: int) -> Response:
    message = _checked(message_id)
    try:
        quarantine.retry(message, current_user)
    except quarantine.NotInQuarantine as exc:
        return _refused(exc)
    return _answer(message)


@bp.post("/messages/<int:message_id>/file-as-new")
def file_as_new(message_id: int) -> Response:
    message = _checked(message_id)
    try:
        quarantine.file_as_new(message, current_user)
    except quarantine.NotInQuarantine as exc:
        return _refused(exc)
    return _answer(message)


@bp.post("/messages/<int:message_id>/attach")
def attach(message_id: int) -> Response:
    message = _message_or_404(message_id)
    form = AttachForm()
    if not form.validate_on_submit():
        abort(400)
    typed = (form.ref.data or "").strip()[:40]
    ticket = review.ticket_by_ref(typed)
    if ticket is None:
        error = (
            f"No ticket has the reference “{typed}”. Copy it from the board, like SUP-7KQ2MX."
            if typed
            else "Enter the reference of the ticket to add this message to, like SUP-7KQ2MX."
        )
        if wants_fragment():
            return _row(message, status=422, error_for=message.id, error=error, typed_ref=typed)
        return _page(422, error_for=message.id, error=error, typed_ref=typed)
    try:
        quarantine.attach_to(message, ticket, current_user)
    except quarantine.NotInQuarantine as exc:
        return _refused(exc)
    return _answer(message)


@bp.post("/messages/<int:message_id>/discard")
def discard(message_id: int) -> Response:
    message = _checked(message_id)
    try:
        quarantine.discard(message, current_user)
    except quarantine.NotInQuarantine as exc:
        return _refused(exc)
    return _answer(message)


@bp.post("/settings")
def settings() -> Response:
    form = MailSettingsForm()
    if not form.validate_on_submit():
        if wants_fragment():
            return render(PAGE, block="settings_form", status=422, settings_form=form)
        return _page(422, settings_form=form)
    quarantine.save_settings(
        quarantine.Rules(
            only_known_customers=form.only_known_customers.data,
            max_new_tickets_per_hour=form.max_new_tickets_per_hour.data,
            max_acknowledgements_per_hour=form.max_acknowledgements_per_hour.data,
        ),
        current_user,
    )
    if wants_fragment():
        return render(PAGE, block="settings_form", settings_form=_settings_form(), saved=True)
    flash("Saved the mail settings. They apply to mail filed from now on.", "success")
    return redirect_after_post(url_for("mail_admin.inbox"))
