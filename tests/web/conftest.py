"""Fixtures for the web tests: a signed-in customer."""

from __future__ import annotations

import pytest

from support.models import User
from tests.conftest import Auth
from tests.factories import Factory


@pytest.fixture
def customer(make: Factory, auth: Auth) -> User:
    user = make.customer()
    auth.login(user)
    return user
