"""/admin/webhooks: register receivers, pick their events, see and resend deliveries."""

from __future__ import annotations

from flask import Blueprint, Response, abort, flash, request, url_for
from flask_login import current_user
from wtforms import BooleanField, SelectMultipleField, StringField
from wtforms.fields import SelectChoice
from wtforms.validators import DataRequired, Length, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from support.admin import access
from support.extensions import db
from support.forms import BaseForm, EmptyForm
from support.models import DeliveryStatus, Webhook, WebhookDelivery, WebhookEvent
from support.params import plain_int
from support.web import redirect_after_post, render
from support.webhooks import http, outbox, subscriptions

bp = access.audited(
    access.admins_only(Blueprint("webhooks_admin", __name__, url_prefix="/admin/webhooks")),
    "webhooks",
)

EVENT_HELP = {
    WebhookEvent.TICKET_CREATED: "A customer filed a ticket.",
    WebhookEvent.TICKET_REPLIED: "A public reply by the customer or the team (never a note).",
    WebhookEvent.TICKET_STATUS_CHANGED: "Opened, waiting, on hold, escalated, resolved, closed…",
    WebhookEvent.TICKET_ASSIGNED: "Someone took the ticket, was given it, or routing assigned it.",
    WebhookEvent.SURVEY_ANSWERED: "The customer rated the help they received.",
}


def _check_url(form: BaseForm, field: StringField) -> None:
    try:
        field.data = subscriptions.check_url(field.data or "")
    except http.UnsafeUrl as exc:
        raise ValidationError(str(exc)) from exc


class WebhookForm(BaseForm):
    url = StringField(
        "Payload URL",
        description="We POST JSON here, signed with this webhook's secret.",
        validators=[
            DataRequired("Enter the URL that receives the events."),
            Length(max=subscriptions.URL_MAX),
            _check_url,
        ],
    )
    description = StringField(
        "Description (optional)",
        description="What receives it, like “CRM sync” or “#support Slack bridge”.",
        validators=[Length(max=subscriptions.DESCRIPTION_MAX)],
    )
    events = SelectMultipleField(
        "Events",
        choices=[SelectChoice(e.value, e.value) for e in WebhookEvent],
        widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(),
        validators=[DataRequired("Pick at least one event.")],
    )
    is_active = BooleanField("Active: send deliveries", default=True)


def _webhook_or_404(webhook_id: int) -> Webhook:
    hook = db.session.get(Webhook, webhook_id)
    if hook is None:
        abort(404)
    return hook


def _page_number() -> int:
    return max(1, plain_int(request.args.get("page"), maximum=100_000) or 1)


@bp.get("/")
def webhooks() -> Response:
    return render("admin/webhooks.html", hooks=subscriptions.all_webhooks())


@bp.route("/new", methods=["GET", "POST"])
def new() -> Response:
    form = WebhookForm()
    if request.method == "GET":
        form.events.data = [e.value for e in WebhookEvent]
    if form.validate_on_submit():
        hook = subscriptions.create(
            url=form.url.data,
            events=form.events.data,
            description=form.description.data or "",
            active=form.is_active.data,
            by=current_user,
        )
        flash(f"Added the webhook for {hook.url}. Its secret is on this page.", "success")
        return redirect_after_post(url_for("webhooks_admin.detail", webhook_id=hook.id))
    return render(
        "admin/webhook_new.html",
        block="webhook_form",
        status=422 if form.errors else 200,
        form=form,
        event_help=EVENT_HELP,
    )


def _detail(hook: Webhook, form: WebhookForm, status: int = 200) -> Response:
    return render(
        "admin/webhook.html",
        block="deliveries" if request.args.get("page") and status == 200 else None,
        status=status,
        hook=hook,
        form=form,
        event_help=EVENT_HELP,
        log=subscriptions.delivery_log(hook, _page_number()),
        button=EmptyForm(),
        DeliveryStatus=DeliveryStatus,
    )


@bp.route("/<int:webhook_id>", methods=["GET", "POST"])
def detail(webhook_id: int) -> Response:
    """The webhook's settings, its secret and its delivery log; POST saves the settings."""
    hook = _webhook_or_404(webhook_id)
    form = WebhookForm(obj=hook)
    if form.validate_on_submit():
        subscriptions.update(
            hook,
            url=form.url.data,
            events=form.events.data,
            description=form.description.data or "",
            active=form.is_active.data,
        )
        flash("Saved the webhook.", "success")
        return redirect_after_post(url_for("webhooks_admin.detail", webhook_id=hook.id))
    return _detail(hook, form, status=422 if form.errors else 200)


@bp.post("/<int:webhook_id>/secret")
def roll_secret(webhook_id: int) -> Response:
    hook = _webhook_or_404(webhook_id)
    if EmptyForm().validate_on_submit():
        subscriptions.roll_secret(hook)
        flash(
            "New secret made: every delivery from now on is signed with it. Update your receiver.",
            "success",
        )
    return redirect_after_post(url_for("webhooks_admin.detail", webhook_id=hook.id))


@bp.route("/<int:webhook_id>/delete", methods=["GET", "POST"])
def delete(webhook_id: int) -> Response:
    """GET asks for confirmation; POST deletes the webhook and its delivery log."""
    hook = _webhook_or_404(webhook_id)
    form = EmptyForm()
    if form.validate_on_submit():
        url = hook.url
        subscriptions.delete(hook)
        flash(f"Deleted the webhook for {url}.", "success")
        return redirect_after_post(url_for("webhooks_admin.webhooks"))
    return render("admin/webhook_delete.html", hook=hook, form=form)


@bp.post("/deliveries/<int:delivery_id>/send-again")
def send_again(delivery_id: int) -> Response:
    delivery = db.session.get(WebhookDelivery, delivery_id)
    if delivery is None:
        abort(404)
    webhook_id = delivery.webhook_id
    if EmptyForm().validate_on_submit():
        if outbox.send_again(delivery) is None:
            flash(
                "That delivery is being sent right now; if it fails it is retried by itself.",
                "error",
            )
        else:
            flash(f"{delivery.event} will be sent again.", "success")
    return redirect_after_post(url_for("webhooks_admin.detail", webhook_id=webhook_id))
