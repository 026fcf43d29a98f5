"""Each API token has its own budget, counted in the real Redis, answered as a problem."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

from tests.api.conftest import api_for
from tests.factories import Factory
from tests.web.test_rate_limits import limited_app


@pytest.fixture
def app(tmp_path: Path, redis_url: str) -> Iterator[Flask]:
    yield from limited_app(tmp_path, redis_url, RATELIMIT_API="3/minute")


def test_each_token_has_its_own_limit(client, make: Factory) -> None:
    agent = make.agent()
    busy, other = api_for(client, agent), api_for(client, agent)
    answers = [busy.get("/api/v1/me").status_code for _ in range(4)]
    assert answers == [200, 200, 200, 429]
    refused = busy.get("/api/v1/me")
    assert refused.content_type == "application/problem+json"
    assert int(refused.headers["Retry-After"]) > 0
    assert other.get("/api/v1/me").status_code == 200
