"""Admin: triage rules and the "what would happen to this text?" preview.

Thin views: the logic is in support.triage.
"""

from __future__ import annotations

from flask import Blueprint, Response, abort, flash, url_for
from sqlalchemy import func, select
from wtforms import IntegerField, SelectField, StringField, TextAreaField
from wtforms.fields import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from support import triage
from support.admin import access
from support.extensions import db
from support.forms import BaseForm, EmptyForm
from support.models import Category, Impact, Priority, PriorityRule
from support.triage import priority, routing
from support.web import redirect_after_post, render, wants_fragment

bp = access.audited(
    access.admins_only(Blueprint("triage_admin", __name__, url_prefix="/admin")), "triage"
)

PAGE = "admin/triage.html"
ANY = ""


class RuleForm(BaseForm):
    name = StringField("Name", validators=[DataRequired("Name the rule."), Length(max=80)])
    impact = SelectField(
        "Impact",
        choices=[SelectChoice(ANY, "Any impact")]
        + [SelectChoice(i.value, i.label) for i in Impact],
    )
    signals = TextAreaField(
        "Signals",
        description="Phrases that raise the priority, one per line (empty: any text).",
        validators=[Optional(), Length(max=2000)],
    )
    priority = SelectField("Priority", choices=[SelectChoice(p.value, p.label) for p in Priority])
    position = IntegerField(
        "Position", default=100, validators=[InputRequired(), NumberRange(0, 10_000)]
    )


class PreviewForm(BaseForm):
    subject = StringField("Subject", validators=[Optional(), Length(max=200)])
    description = TextAreaField("Description", validators=[Optional(), Length(max=50_000)])
    impact = SelectField(
        "Who is affected?",
        choices=[SelectChoice(i.value, i.label) for i in Impact],
        default=Impact.JUST_ME.value,
    )
    category = SelectField("Topic", choices=[])


def _preview_form() -> PreviewForm:
    form = PreviewForm(prefix="preview")  # its fields never share an id with a rule form
    categories = db.session.scalars(
        select(Category).where(Category.is_active.is_(True)).order_by(Category.name)
    )
    form.category.choices = [SelectChoice(ANY, "Not sure")] + [
        SelectChoice(c.slug, c.name) for c in categories
    ]
    return form


def _edit_prefix(rule_id: int) -> str:
    return f"rule-{rule_id}"


def _edit_form(rule: priority.Rule) -> RuleForm:
    """The saved rule's fields, never another form's posted data."""
    assert rule.id is not None
    return RuleForm(
        formdata=None,
        prefix=_edit_prefix(rule.id),
        data={
            "name": rule.name,
            "impact": rule.impact.value if rule.impact else ANY,
            "signals": "\n".join(rule.signals),
            "priority": rule.priority.value,
            "position": rule.position,
        },
    )


def _page(
    rule_form: RuleForm | None = None,
    status: int = 200,
    failed_edit: tuple[int, RuleForm] | None = None,
    **extra,
) -> Response:
    rules = priority.rules()
    saved = db.session.scalar(select(func.count(PriorityRule.id)))
    edit_forms = {rule.id: _edit_form(rule) for rule in rules if rule.id is not None}
    if failed_edit is not None:
        edit_forms[failed_edit[0]] = failed_edit[1]
    return render(
        PAGE,
        status=status,
        rules=rules,
        conflicts=priority.conflicts(rules),
        saved=saved,
        last_saved=saved == 1,
        rule_form=rule_form or RuleForm(formdata=None),
        edit_forms=edit_forms,
        failed_rule_id=failed_edit[0] if failed_edit else None,
        preview_form=extra.pop("preview_form", None) or _preview_form(),
        form=EmptyForm(),
        default_cap=routing.DEFAULT_MAX_OPEN,
        **extra,
    )


@bp.get("/triage")
def triage_page() -> Response:
    return _page()


@bp.post("/triage/preview")
def triage_preview() -> Response:
    form = _preview_form()
    if not form.validate_on_submit():
        return _preview_answer(form, None, status=422)
    chosen = db.session.scalar(select(Category).where(Category.slug == form.category.data))
    result = triage.preview(
        form.subject.data or "",
        form.description.data or "",
        Impact(form.impact.data),
        chosen if form.category.data else None,
    )
    return _preview_answer(form, result)


def _preview_answer(
    form: PreviewForm, result: triage.Decision | None, status: int = 200
) -> Response:
    """The preview block for htmx; the whole page (rules and all) for a plain form post."""
    if wants_fragment():
        return render(PAGE, block="preview", status=status, preview_form=form, result=result)
    return _page(status=status, preview_form=form, result=result)


@bp.post("/triage/rules")
def add_rule() -> Response:
    form = RuleForm()
    if form.validate_on_submit():
        try:
            priority.add_rule(
                name=form.name.data,
                priority=Priority(form.priority.data),
                impact=Impact(form.impact.data) if form.impact.data else None,
                signals=form.signals.data,
                position=form.position.data,
            )
        except priority.RuleError as exc:
            form.name.errors = [*form.name.errors, str(exc)]
        else:
            flash(f"Added the rule “{form.name.data.strip()}”.", "success")
            return redirect_after_post(url_for("triage_admin.triage_page"))
    return _page(form, status=422)


@bp.post("/triage/rules/<int:rule_id>")
def update_rule(rule_id: int) -> Response:
    if db.session.get(PriorityRule, rule_id) is None:
        abort(404)
    form = RuleForm(prefix=_edit_prefix(rule_id))
    if form.validate_on_submit():
        try:
            priority.update_rule(
                rule_id,
                name=form.name.data,
                priority=Priority(form.priority.data),
                impact=Impact(form.impact.data) if form.impact.data else None,
                signals=form.signals.data,
                position=form.position.data,
            )
        except priority.RuleError as exc:
            form.name.errors = [*form.name.errors, str(exc)]
        else:
            flash(f"Saved the rule “{form.name.data.strip()}”.", "success")
            return redirect_after_post(url_for("triage_admin.triage_page"))
    return _page(status=422, failed_edit=(rule_id, form))


@bp.post("/triage/rules/editable")
def make_rules_editable() -> Response:
    if not EmptyForm().validate_on_submit():
        abort(400)
    priority.make_editable()
    flash("The default rules are now your own: edit or delete any of them.", "success")
    return redirect_after_post(url_for("triage_admin.triage_page"))


@bp.post("/triage/rules/<int:rule_id>/delete")
def delete_rule(rule_id: int) -> Response:
    if not EmptyForm().validate_on_submit():
        abort(400)
    deleted = priority.delete_rule(rule_id)
    named = f" “{deleted.name}”" if deleted.name else ""
    if deleted.defaults_back:
        flash(
            f"Deleted the rule{named}. It was the last of your rules, so the default rules "
            "apply again to every ticket filed from now on; add a rule or make the defaults "
            "editable to change them.",
            "info",
        )
    else:
        flash(f"Deleted the rule{named}.", "success")
    return redirect_after_post(url_for("triage_admin.triage_page"))


@bp.post("/triage/rules/reset")
def reset_rules() -> Response:
    if not EmptyForm().validate_on_submit():
        abort(400)
    priority.reset_rules()
    flash("Back to the default rules.", "success")
    return redirect_after_post(url_for("triage_admin.triage_page"))
