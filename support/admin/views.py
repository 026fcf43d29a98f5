"""Admin: the index of sections, and the canned responses agents reply with."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Blueprint, Response, abort, current_app, flash, request, url_for
from flask_login import current_user
from wtforms import SelectField, StringField, TextAreaField
from wtforms.fields import SelectChoice
from wtforms.validators import DataRequired, Length, ValidationError

from support.admin import access
from support.extensions import db
from support.forms import BaseForm, EmptyForm
from support.models import CannedResponse, Priority, Status, User
from support.tickets import canned, permissions
from support.tickets import tags as tag_names
from support.tickets.service import Then
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
        "SLA policies and business hours",
        "operations.sla_policies",
        "First-response, update and resolution targets for each priority; when the desk "
        "is open (time zone, hours per weekday, holidays).",
    ),
    # One entry for both pages (they link to each other): admins looked for routing twice.
    Section(
        "Triage, teams and routing",
        "routing_admin.routing_page",
        "Teams, skills and categories; each agent's team, tier, skills and limit; the "
        "priority rules, and what would happen to a ticket's text (its category, priority "
        "and who gets it).",
    ),
    Section(
        "Webhooks",
        "webhooks_admin.webhooks",
        "Signed JSON posts to your own systems when tickets are filed, answered, moved, "
        "assigned or rated, with a delivery log and “send again”.",
    ),
    Section(
        "Incoming mail",
        "mail_admin.inbox",
        "Email that could not be filed, with the reason and the original: retry it, file it, "
        "add it to a ticket or discard it; and who may open tickets by email.",
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
    # The macro's actions, applied when the reply is sent; "" leaves the field alone.
    then_status = SelectField(
        "Then set the status to",
        default="",
        choices=[SelectChoice("", "Leave it as it is")]
        + [SelectChoice(s.value, canned.MACRO_STATUS_LABELS[s]) for s in canned.MACRO_STATUSES],
    )
    then_priority = SelectField(
        "Then set the priority to",
        default="",
        choices=[SelectChoice("", "Leave it as it is")]
        + [SelectChoice(p.value, p.label) for p in Priority],
    )
    add_tags = StringField(
        "Then add the tags",
        description="Separate tags with commas; the ticket's own tags stay.",
        validators=[Length(max=1000, message="Keep the tags under 1,000 characters.")],
    )
    assignee = SelectField("Then assign it to", choices=[], default="")

    def set_agents(self, agents: list[User]) -> None:
        self.assignee.choices = [SelectChoice("", "Leave it as it is")] + [
            SelectChoice(str(a.id), a.name) for a in agents
        ]

    def validate_add_tags(self, field: StringField) -> None:
        try:
            tag_names.parse(tag_names.split(field.data or ""))
        except tag_names.BadTag as exc:
            raise ValidationError(str(exc)) from exc

    def then(self, agents: list[User]) -> Then:
        by_id = {str(a.id): a for a in agents}
        return Then(
            status=Status(self.then_status.data) if self.then_status.data else None,
            priority=Priority(self.then_priority.data) if self.then_priority.data else None,
            add_tags=tuple(tag_names.split(self.add_tags.data or "")),
            assignee=by_id.get(self.assignee.data or ""),
        )


def _canned_form(response: CannedResponse | None, agents: list[User]) -> CannedForm:
    form = CannedForm(obj=response)
    form.set_agents(agents)
    if response is not None and request.method == "GET":
        form.assignee.data = str(response.set_assignee_id or "")
        form.then_status.data = response.set_status.value if response.set_status else ""
        form.then_priority.data = response.set_priority.value if response.set_priority else ""
    return form


@bp.get("/")
def index() -> Response:
    sections = [s for s in SECTIONS if s.endpoint in current_app.view_functions]
    return render("admin/index.html", sections=sections, canned_count=len(canned.all_responses()))


@bp.get("/canned/")
def canned_list() -> Response:
    return render(
        "admin/canned_list.html",
        responses=canned.all_responses(),
        macro_actions=lambda r: canned.describe(canned.then_of(r)),
    )


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


def _save(form: CannedForm, response: CannedResponse | None, agents: list[User]) -> Response:
    """Create or update from a valid form; a duplicate title goes back to the form."""
    then = form.then(agents)
    try:
        if response is None:
            canned.create(title=form.title.data, body=form.body.data, by=current_user, then=then)
        else:
            canned.update(response, title=form.title.data, body=form.body.data, then=then)
    except canned.CannedError as exc:
        form.title.errors = [*form.title.errors, str(exc)]
        return _form_page(form, response, status=422)
    flash(f"Saved “{form.title.data.strip()}”.", "success")
    return redirect_after_post(url_for("admin.canned_list"))


@bp.route("/canned/new", methods=["GET", "POST"])
def canned_new() -> Response:
    agents = permissions.assignable_agents()
    form = _canned_form(None, agents)
    if request.form.get("action") == "preview":
        return _form_page(form, None)
    if form.validate_on_submit():
        return _save(form, None, agents)
    return _form_page(form, None, status=422 if form.errors else 200)


@bp.route("/canned/<int:canned_id>/edit", methods=["GET", "POST"])
def canned_edit(canned_id: int) -> Response:
    response = _canned_or_404(canned_id)
    agents = permissions.assignable_agents()
    form = _canned_form(response, agents)
    if request.form.get("action") == "preview":
        return _form_page(form, response)
    if form.validate_on_submit():
        return _save(form, response, agents)
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
