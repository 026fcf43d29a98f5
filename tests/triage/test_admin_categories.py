"""/admin/routing: adding, saving, deactivating and refusing categories, and their slugs."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from support.extensions import db
from support.models import Category
from support.triage import settings
from tests.triage.admin_helpers import add_skill, add_team, count, followed, rejected
from tests.triage.conftest import category

# --- categories --------------------------------------------------------------------------


def test_save_a_category(client, admin) -> None:
    team, skill = add_team("Trust"), add_skill("Chargebacks")
    payments = category("payments")
    key = f"category-{payments.id}"
    text = followed(
        client,
        f"/admin/routing/categories/{payments.id}",
        {
            f"{key}-name": "Payments and cards",
            f"{key}-team": str(team.id),
            f"{key}-skill": str(skill.id),
            f"{key}-is_active": "y",
        },
    )
    assert "Saved the category “Payments and cards”." in text
    db.session.refresh(payments)
    assert (payments.name, payments.team_id, payments.skill_id, payments.is_active) == (
        "Payments and cards",
        team.id,
        skill.id,
        True,
    )
    assert payments.slug == "payments"  # bookmarks and the suggester keep working
    row = text[text.index(f'id="{key}"') :]
    row = row[: row.index("</tr>")]
    assert re.search(rf'<option selected value="{team.id}">Trust</option>', row)
    assert re.search(rf'<option selected value="{skill.id}">Chargebacks</option>', row)


def test_a_deactivated_category_is_hidden_from_customers_but_kept(
    client, auth, admin, make
) -> None:
    payments = category("payments")
    ticket = make.ticket(category=payments)
    key = f"category-{payments.id}"
    text = followed(
        client,
        f"/admin/routing/categories/{payments.id}",
        {f"{key}-name": "Payments", f"{key}-team": "", f"{key}-skill": ""},
    )
    assert "It is hidden from customers; old tickets keep it." in text
    db.session.refresh(payments)
    assert payments.is_active is False
    db.session.refresh(ticket)
    assert ticket.category_id == payments.id
    assert count(Category) == 8  # never deleted
    auth.login(make.customer())
    form = client.get("/tickets/new").get_data(as_text=True)
    assert ">Payments<" not in form and ">Shipping<" in form


def test_add_a_category_with_a_unique_slug(client, admin) -> None:
    team = add_team("Care")
    text = followed(
        client,
        "/admin/routing/categories",
        {"new-category-name": "Returns & Exchanges", "new-category-team": str(team.id)},
    )
    assert "Added the category “Returns &amp; Exchanges”: customers can choose it now." in text
    added = db.session.scalar(select(Category).where(Category.name == "Returns & Exchanges"))
    assert (added.slug, added.team_id, added.skill_id, added.is_active) == (
        "returns-exchanges",
        team.id,
        None,
        True,
    )
    followed(client, "/admin/routing/categories", {"new-category-name": "Security!"})
    assert db.session.scalar(select(Category.slug).where(Category.name == "Security!")) == (
        "security-2"
    )


def test_slugs() -> None:
    assert settings.slugify("Café & Crème brûlée") == "cafe-creme-brulee"
    assert settings.slugify("Доставка") == "category"
    assert len(settings.slugify("x " * 100)) <= settings.SLUG_MAX


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"name": ""}, "Give the category a name."),
        ({"name": "y" * 2000}, "Keep the category&#39;s name to 80 characters"),
        ({"name": "SHIPPING"}, "There is already a category called “SHIPPING”"),
        ({"name": "Fine", "team": "999"}, "That team no longer exists"),
        ({"name": "Fine", "skill": "999"}, "That skill no longer exists"),
        ({"name": "Fine", "team": "abc"}, "Invalid Choice"),
    ],
    ids=["empty", "2000-chars", "duplicate", "unknown-team", "unknown-skill", "garbage-team"],
)
def test_bad_category_input_is_refused(client, admin, data, message) -> None:
    payments = category("payments")
    for url, key in (
        ("/admin/routing/categories", "new-category"),
        (f"/admin/routing/categories/{payments.id}", f"category-{payments.id}"),
    ):
        posted = {f"{key}-{name}": value for name, value in data.items()}
        text = rejected(client, url, posted, message)
        if data["name"] == "Fine":
            assert 'value="Fine"' in text
    assert count(Category) == 8
    db.session.refresh(payments)
    assert (payments.name, payments.team_id, payments.skill_id, payments.is_active) == (
        "Payments",
        None,
        None,
        True,
    )
