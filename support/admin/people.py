"""Admin: people — find any account, and change what it may do (role, tier, active).

Thin views: the rules (nobody locks the team out) are in support.auth.accounts.
"""

from __future__ import annotations

from flask import Blueprint, Response, abort, flash, request, url_for
from flask_login import current_user
from wtforms import BooleanField, SelectField
from wtforms.fields import SelectChoice

from support.admin import access
from support.auth import accounts
from support.extensions import db
from support.forms import BaseForm
from support.models import Role, User
from support.params import plain_int
from support.privacy import audit
from support.web import redirect_after_post, render

bp = access.admins_only(Blueprint("people_admin", __name__, url_prefix="/admin"))

PAGE = "admin/people.html"
PAGE_SIZE = 50
NO_TIER = ""


class AccessForm(BaseForm):
    role = SelectField("Role", choices=[SelectChoice(r.value, r.value.capitalize()) for r in Role])
    tier = SelectField(
        "Tier",
        choices=[SelectChoice(NO_TIER, "—")]
        + [SelectChoice(str(t), f"Tier {t}") for t in accounts.STAFF_TIERS],
    )
    is_active = BooleanField("Active")


def _filters() -> tuple[str, Role | None, int]:
    text = request.args.get("q", "")[:200]
    role = request.args.get("role", "")
    page = request.args.get("page", "1")
    return (
        text,
        Role(role) if role in {r.value for r in Role} else None,
        max(plain_int(page, maximum=100_000) or 1, 1),
    )


def _page(status: int = 200, error_for: int | None = None, error: str | None = None) -> Response:
    text, role, page = _filters()
    found, total = accounts.people(text, role, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
    return render(
        PAGE,
        block="results",
        status=status,
        people=found,
        total=total,
        q=text,
        role=role.value if role else "",
        roles=list(Role),
        tiers=accounts.STAFF_TIERS,
        page=page,
        pages=max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1),
        form=AccessForm(formdata=None),
        error_for=error_for,
        error=error,
    )


def _access_of(person: User) -> dict[str, object]:
    return {"role": person.role.value, "tier": person.tier, "active": person.is_active}


@bp.get("/people")
def people() -> Response:
    return _page()


@bp.post("/people/<int:user_id>")
def change(user_id: int) -> Response:
    person = db.session.get(User, user_id)
    if person is None:
        abort(404)
    form = AccessForm()
    if not form.validate_on_submit():
        return _page(422, person.id, "Choose a role and, for staff, a tier from the lists.")
    before = _access_of(person)
    try:
        accounts.change_access(
            person,
            role=Role(form.role.data),
            tier=int(form.tier.data) if form.tier.data else None,
            active=form.is_active.data,
            by=current_user,
        )
    except accounts.AccessError as exc:
        db.session.rollback()
        return _page(422, person.id, str(exc))
    if (after := _access_of(person)) != before:
        audit.record(
            audit.Action.ACCESS_CHANGED,
            current_user,
            person,
            {"before": before, "after": after},
            request.remote_addr,
        )
    state = "" if person.is_active else ", deactivated"
    flash(f"{person.name} is now {person.role.value}{state}.", "success")
    return redirect_after_post(url_for("people_admin.people", **request.args))
