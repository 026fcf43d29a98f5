"""Helpers for the /admin/routing tests: the page, posting to it, and adding teams and skills."""

from __future__ import annotations

from sqlalchemy import func, select

from support.extensions import db
from support.models import Skill, Team

PAGE = "/admin/routing"


def page(client) -> str:
    response = client.get(PAGE)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def followed(client, url: str, data: dict) -> str:
    """POST, expect the redirect-after-post, and return the page it leads to (with the flash)."""
    response = client.post(url, data=data)
    assert response.status_code == 303, response.get_data(as_text=True)[:2000]
    assert response.location == PAGE
    return page(client)


def rejected(client, url: str, data: dict, message: str) -> str:
    response = client.post(url, data=data)
    text = response.get_data(as_text=True)
    assert response.status_code == 422, text[:2000]
    assert message in text
    assert "<h1>Teams and routing</h1>" in text  # the whole page again, not a bare error
    return text


def add_team(name: str) -> Team:
    team = Team(name=name)
    db.session.add(team)
    db.session.commit()
    return team


def add_skill(name: str) -> Skill:
    skill = Skill(name=name)
    db.session.add(skill)
    db.session.commit()
    return skill


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))
