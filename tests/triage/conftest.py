"""Teams with agents for the triage tests."""

from __future__ import annotations

import pytest

from support.extensions import db
from support.models import Category, Team, User


class Teams:
    def __init__(self, make) -> None:
        self.make = make

    def team(self, name: str, *categories: str) -> Team:
        team = Team(name=name)
        db.session.add(team)
        db.session.flush()
        for slug in categories:
            category = self.make.category(slug)
            category.team_id = team.id
        db.session.commit()
        return team

    def agents(self, team: Team, count: int, max_open: int | None = None, **fields):
        agents = [self.make.agent(team_id=team.id, **fields) for _ in range(count)]
        for agent in agents:
            agent.max_open = max_open
        db.session.commit()
        return agents


@pytest.fixture
def teams(make) -> Teams:
    return Teams(make)


def category(slug: str) -> Category:
    return db.session.scalar(db.select(Category).where(Category.slug == slug))


@pytest.fixture
def admin(client, auth, make) -> User:
    user = make.admin(name="Ada Admin")
    auth.login(user)
    return user
