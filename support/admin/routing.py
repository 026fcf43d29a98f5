"""Admin: teams, skills, categories and each agent's routing, on one page.

Thin views: the forms only turn text into numbers; support.triage.settings
checks and saves. Every form on the page is a plain POST; an error re-renders
the page (422) with the message next to the row and what was typed kept.
Each row's form has its own prefix ("team-3", "agent-12", "new-skill"), so the
page can put the one posted form back in its place among the saved ones.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from flask import Blueprint, Response, abort, flash, url_for
from wtforms import BooleanField, IntegerField, SelectField, SelectMultipleField, StringField
from wtforms.fields import SelectChoice
from wtforms.validators import Optional

from support.admin import access
from support.extensions import db
from support.forms import BaseForm, EmptyForm
from support.models import Category, Skill, Team, User
from support.triage import settings
from support.triage.routing import DEFAULT_MAX_OPEN
from support.web import redirect_after_post, render

bp = access.audited(
    access.admins_only(Blueprint("routing_admin", __name__, url_prefix="/admin")), "routing"
)

PAGE = "admin/routing.html"
NONE = ""
NEW_LABELS = {"new-team": "New team", "new-skill": "New skill", "new-category": "New category"}


def optional_id(value: Any) -> int | None:
    """The empty choice is None, "12" is 12; anything else is refused by the field."""
    if value is None or value == NONE:
        return None
    return int(value)


class WholeNumberField(IntegerField):
    def process_formdata(self, valuelist: list[Any]) -> None:
        try:
            super().process_formdata(valuelist)
        except ValueError as exc:
            raise ValueError("Enter a whole number, or leave it empty for the default.") from exc


class NameForm(BaseForm):
    """A team's or a skill's name (checked by settings: trimmed, length, unique)."""

    name = StringField("Name")


class CategoryForm(BaseForm):
    name = StringField("Name")
    team = SelectField("Team", coerce=optional_id, validate_choice=False)
    skill = SelectField("Needs skill", coerce=optional_id, validate_choice=False)
    is_active = BooleanField("Customers can choose it", default=True)


class AgentForm(BaseForm):
    team = SelectField("Team", coerce=optional_id, validate_choice=False)
    tier = SelectField(
        "Tier",
        coerce=optional_id,
        validate_choice=False,
        choices=[SelectChoice(NONE, "—")] + [SelectChoice(str(t), str(t)) for t in settings.TIERS],
    )
    skills = SelectMultipleField("Skills", coerce=int, validate_choice=False)
    is_available = BooleanField("Takes new tickets")
    max_open = WholeNumberField("Limit", validators=[Optional()])


def _team_choices(teams: list[Team]) -> list[SelectChoice]:
    return [SelectChoice(NONE, "No team")] + [SelectChoice(str(t.id), t.name) for t in teams]


def _skill_choices(skills: list[Skill]) -> list[SelectChoice]:
    return [SelectChoice(NONE, "None")] + [SelectChoice(str(s.id), s.name) for s in skills]


def _forms(
    teams: list[Team],
    skills: list[Skill],
    categories: list[Category],
    agents: list[tuple[User, int]],
) -> dict[str, BaseForm]:
    """Every form on the page, filled from what is saved, keyed by prefix."""
    forms: dict[str, BaseForm] = {
        "new-team": NameForm(formdata=None, prefix="new-team"),
        "new-skill": NameForm(formdata=None, prefix="new-skill"),
        "new-category": CategoryForm(formdata=None, prefix="new-category"),
    }
    for team in teams:
        forms[f"team-{team.id}"] = NameForm(formdata=None, prefix=f"team-{team.id}", obj=team)
    for skill in skills:
        forms[f"skill-{skill.id}"] = NameForm(formdata=None, prefix=f"skill-{skill.id}", obj=skill)
    for category in categories:
        forms[f"category-{category.id}"] = CategoryForm(
            formdata=None,
            prefix=f"category-{category.id}",
            data={
                "name": category.name,
                "team": category.team_id,
                "skill": category.skill_id,
                "is_active": category.is_active,
            },
        )
    for agent, _open in agents:
        forms[f"agent-{agent.id}"] = AgentForm(
            formdata=None,
            prefix=f"agent-{agent.id}",
            data={
                "team": agent.team_id,
                "tier": agent.tier,
                "skills": [s.id for s in agent.skills],
                "is_available": agent.is_available,
                "max_open": agent.max_open,
            },
        )
    return forms


def _page(posted: tuple[str, BaseForm] | None = None, status: int = 200) -> Response:
    """The whole page; `posted` (a rejected form and its prefix) takes its row's place."""
    teams, skills = settings.teams(), settings.skills()
    categories, agents = settings.categories(), settings.agents_overview()
    forms = _forms(teams, skills, categories, agents)
    if posted is not None:
        prefix, form = posted
        forms[prefix] = form
    for prefix, label in NEW_LABELS.items():
        forms[prefix].name.label.text = label
    team_choices, skill_choices = _team_choices(teams), _skill_choices(skills)
    for form in forms.values():
        if isinstance(form, CategoryForm | AgentForm):
            form.team.choices = team_choices
        if isinstance(form, CategoryForm):
            form.skill.choices = skill_choices
    members = Counter(agent.team_id for agent, _open in agents)
    return render(
        PAGE,
        status=status,
        teams=teams,
        skills=skills,
        categories=categories,
        agents=agents,
        forms=forms,
        form=EmptyForm(),
        default_cap=DEFAULT_MAX_OPEN,
        max_open_limit=settings.MAX_OPEN_LIMIT,
        team_members=members,
        team_categories=Counter(c.team_id for c in categories),
        skill_agents=Counter(s.id for agent, _open in agents for s in agent.skills),
        skill_categories=Counter(c.skill_id for c in categories),
    )


def _rejected(prefix: str, form: BaseForm, error: settings.SettingsError) -> Response:
    """Put the message next to its field (or on the row) and show the page again."""
    field = getattr(form, error.field, None) if error.field else None
    if field is not None:
        field.errors = [*field.errors, str(error)]
    else:
        form.form_errors.append(str(error))
    return _page((prefix, form), status=422)


def _done(message: str) -> Response:
    flash(message, "success")
    return redirect_after_post(url_for("routing_admin.routing_page"))


def _get_or_404(model: type, ident: int) -> Any:
    found = db.session.get(model, ident)
    if found is None:
        abort(404)
    return found


def _posted(form: BaseForm) -> BaseForm:
    """A form with nothing to check but its CSRF token (refused before, in fact, by
    CSRFProtect with a page that keeps what was typed)."""
    if not form.validate_on_submit():
        abort(400)
    return form


@bp.get("/routing")
def routing_page() -> Response:
    return _page()


# --- teams -------------------------------------------------------------------------------


@bp.post("/routing/teams")
def add_team() -> Response:
    form = _posted(NameForm(prefix="new-team"))
    try:
        team = settings.create_team(form.name.data or "")
    except settings.SettingsError as exc:
        return _rejected("new-team", form, exc)
    return _done(f"Added the team “{team.name}”.")


@bp.post("/routing/teams/<int:team_id>")
def rename_team(team_id: int) -> Response:
    team = _get_or_404(Team, team_id)
    prefix = f"team-{team_id}"
    form = _posted(NameForm(prefix=prefix))
    try:
        settings.rename_team(team, form.name.data or "")
    except settings.SettingsError as exc:
        return _rejected(prefix, form, exc)
    return _done(f"Renamed the team to “{team.name}”.")


@bp.post("/routing/teams/<int:team_id>/delete")
def delete_team(team_id: int) -> Response:
    team = _get_or_404(Team, team_id)
    _posted(EmptyForm())
    prefix = f"team-{team_id}"
    try:
        name = settings.delete_team(team)
    except settings.SettingsError as exc:
        return _rejected(prefix, NameForm(formdata=None, prefix=prefix, obj=team), exc)
    return _done(f"Deleted the team “{name}”.")


# --- skills ------------------------------------------------------------------------------


@bp.post("/routing/skills")
def add_skill() -> Response:
    form = _posted(NameForm(prefix="new-skill"))
    try:
        skill = settings.create_skill(form.name.data or "")
    except settings.SettingsError as exc:
        return _rejected("new-skill", form, exc)
    return _done(f"Added the skill “{skill.name}”. Give it to agents and categories below.")


@bp.post("/routing/skills/<int:skill_id>")
def rename_skill(skill_id: int) -> Response:
    skill = _get_or_404(Skill, skill_id)
    prefix = f"skill-{skill_id}"
    form = _posted(NameForm(prefix=prefix))
    try:
        settings.rename_skill(skill, form.name.data or "")
    except settings.SettingsError as exc:
        return _rejected(prefix, form, exc)
    return _done(f"Renamed the skill to “{skill.name}”.")


@bp.post("/routing/skills/<int:skill_id>/delete")
def delete_skill(skill_id: int) -> Response:
    skill = _get_or_404(Skill, skill_id)
    _posted(EmptyForm())
    return _done(settings.delete_skill(skill).message)


# --- categories --------------------------------------------------------------------------


@bp.post("/routing/categories")
def add_category() -> Response:
    prefix = "new-category"
    form = CategoryForm(prefix=prefix)
    if not form.validate_on_submit():
        return _page((prefix, form), status=422)
    try:
        category = settings.create_category(
            form.name.data or "", team_id=form.team.data, skill_id=form.skill.data
        )
    except settings.SettingsError as exc:
        return _rejected(prefix, form, exc)
    return _done(f"Added the category “{category.name}”: customers can choose it now.")


@bp.post("/routing/categories/<int:category_id>")
def save_category(category_id: int) -> Response:
    category = _get_or_404(Category, category_id)
    prefix = f"category-{category_id}"
    form = CategoryForm(prefix=prefix)
    if not form.validate_on_submit():
        return _page((prefix, form), status=422)
    try:
        settings.save_category(
            category,
            name=form.name.data or "",
            team_id=form.team.data,
            skill_id=form.skill.data,
            is_active=form.is_active.data,
        )
    except settings.SettingsError as exc:
        return _rejected(prefix, form, exc)
    hidden = "" if category.is_active else " It is hidden from customers; old tickets keep it."
    return _done(f"Saved the category “{category.name}”.{hidden}")


# --- agents ------------------------------------------------------------------------------


@bp.post("/routing/agents/<int:user_id>")
def save_agent(user_id: int) -> Response:
    agent = _get_or_404(User, user_id)
    if not agent.is_agent or not agent.is_active:
        abort(404)
    prefix = f"agent-{user_id}"
    form = AgentForm(prefix=prefix)
    if not form.validate_on_submit():
        return _page((prefix, form), status=422)
    try:
        settings.save_agent_routing(
            agent,
            team_id=form.team.data,
            tier=form.tier.data,
            skill_ids=form.skills.data or [],
            available=form.is_available.data,
            max_open=form.max_open.data,
        )
    except settings.SettingsError as exc:
        return _rejected(prefix, form, exc)
    return _done(f"Saved routing for {agent.name}.")
