"""API fixtures: an agent with a read-write token, and a client that sends it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from flask.testing import FlaskClient

from support.api import tokens
from support.models import TokenScope, User
from tests.factories import Factory


@dataclass
class Api:
    """The test client with a bearer token on every request."""

    client: FlaskClient
    secret: str
    user: User

    def headers(self, extra: dict[str, str] | None) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.secret}", **(extra or {})}

    def get(self, path: str, headers: dict[str, str] | None = None, **kwargs: Any):
        return self.client.get(path, headers=self.headers(headers), **kwargs)

    def post(self, path: str, json: Any = None, headers: dict[str, str] | None = None, **kw: Any):
        return self.client.post(path, json=json, headers=self.headers(headers), **kw)

    def patch(self, path: str, json: Any = None, headers: dict[str, str] | None = None, **kw: Any):
        return self.client.patch(path, json=json, headers=self.headers(headers), **kw)


def api_for(client: FlaskClient, user: User, scope: TokenScope = TokenScope.WRITE) -> Api:
    return Api(client, tokens.create(user, name="tests", scope=scope).secret, user)


@pytest.fixture
def agent(make: Factory) -> User:
    return make.agent(name="Alex Agent")


@pytest.fixture
def api(client: FlaskClient, agent: User) -> Api:
    return api_for(client, agent)
