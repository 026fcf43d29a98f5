"""Admin: the index of sections, and the canned responses agents reply with."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Blueprint, Response, abort, current_app, flash, request, url_for
from flask_login import current_user
from wtforms import StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from support.admin import access
from support.extensions import db
from support.forms import BaseForm, EmptyForm
from support.models import CannedResponse
from support.tickets import canned
from support.web import redirect_after_post, render

bp = access.admins_only(Blueprint("admin", __name__, url_prefix="/admin"))

FORM = "admin/canned_form.html"


@dataclass(frozen=True)
class Section:
    title: str
    endpoint: str
    summary: str


# The admin index lists these; a later page adds its own line here.
SECTIONS = [
    Section(
        "People",
        "people_admin.people",
        "Every account: find someone, make them an agent or admin, set their tier, or "
        "deactivate them.",
    ),
    Section(
        "Canned responses",
        "admin.canned_list",
        "Ready-made replies agents insert with one click, with placeholders for the "
        "customer's name, the ticket and the agent.",
    ),
    Section(
        "SLA policies",
        "operations.sla_policies",
        "First-response, update and resolution targets for each priority.",
    ),
    Section(
        "Triage and routing",
        "triage_admin.triage_page",
        "Priority rules (impact × urgent words), and what would happen to a ticket's text: "
        "its suggested category, priority and who it is routed to.",
    ),
    Section(
        "Teams and routing",
        "routing_admin.routing_page",
        "Teams, skills and categories, and for each agent: team, tier, skills, whether they "
        "take new tickets and how many at most.",
    ),
    Section(
        "Webhooks",
        "webhooks_admin.webhooks",
        "Signed JSON posts to your own systems when tickets are filed, answered, moved, "
        "assigned or rated, with a delivery log and “send again”.",
    ),
    Section(
        "Privacy and retention",
        "privacy_admin.privacy_page",
        "Confirm customers' erasure requests (or erase someone), and how long closed "
        "tickets' text, attachments and the audit log are kept.",
    ),
    Section(
        "Audit log",
        "privacy_admin.audit_log",
        "Who signed in (or failed to), changed access, settings or API tokens, exported or "
        "erased data — when and from which address. Filter it and download it as CSV.",
    ),
    Section(
        "Jobs and mail",
        "operations.jobs",
        "Background jobs that failed and emails waiting to go out, with a retry button.",
    ),
]


class CannedForm(BaseForm):
    title = StringField(
        "Title",
        description="What agents pick from the list, like “Refund on its way”.",
        validators=[DataRequired("Give it a title."), Length(max=canned.TITLE_MAX)],
    )
    body = TextAreaField(
        "Text",
        validators=[DataRequired("Write the response."), Length(max=canned.BODY_MAX)],
    )


@bp.get("/")
def index() -> Response:
    sections = [s for s in SECTIONS if s.endpoint in current_app.view_functions]
    return render("admin/index.html", sections=sections, canned_count=len(canned.all_responses()))


@bp.get("/canned/")
def canned_list() -> Response:
    return render("admin/canned_list.html", responses=canned.all_responses())


def _canned_or_404(canned_id: int) -> CannedResponse:
    response = db.session.get(CannedResponse, canned_id)
    if response is None:
        abort(404)
    return response


def _form_page(form: CannedForm, response: CannedResponse | None, status: int = 200) -> Response:
    preview = canned.fill(form.body.data or "", canned.sample_values(current_user))
    return render(
        FORM,
        block="preview" if request.form.get("action") == "preview" else None,
        status=status,
        form=form,
        response=response,
        preview=preview,
        placeholders=canned.PLACEHOLDERS,
    )


def _save(form: CannedForm, response: CannedResponse | None) -> Response:
    """Create or update from a valid form; a duplicate title goes back to the form."""
    try:
        if response is None:
            canned.create(title=form.title.data, body=form.body.data, by=current_user)
        else:
            canned.update(response, title=form.title.data, body=form.body.data)
    except canned.CannedError as exc:
        form.title.errors = [*form.title.errors, str(exc)]
        return _form_page(form, response, status=422)
    flash(f"Saved “{form.title.data.strip()}”.", "success")
    return redirect_after_post(url_for("admin.canned_list"))


@bp.route("/canned/new", methods=["GET", "POST"])
def canned_new() -> Response:
    form = CannedForm()
    if request.form.get("action") == "preview":
        return _form_page(form, None)
    if form.validate_on_submit():
        return _save(form, None)
    return _form_page(form, None, status=422 if form.errors else 200)


@bp.route("/canned/<int:canned_id>/edit", methods=["GET", "POST"])
def canned_edit(canned_id: int) -> Response:
    response = _canned_or_404(canned_id)
    form = CannedForm(obj=response)
    if request.form.get("action") == "preview":
        return _form_page(form, response)
    if form.validate_on_submit():
        return _save(form, response)
    return _form_page(form, response, status=422 if form.errors else 200)


@bp.route("/canned/<int:canned_id>/delete", methods=["GET", "POST"])
def canned_delete(canned_id: int) -> Response:
    """GET asks for confirmation; POST deletes."""
    response = _canned_or_404(canned_id)
    form = EmptyForm()
    if form.validate_on_submit():
        title = response.title
        canned.delete(response)
        flash(f"Deleted “{title}”.", "success")
        return redirect_after_post(url_for("admin.canned_list"))
    return render("admin/canned_delete.html", response=response, form=form)
