"""Behind a reverse proxy (PROXY_HOPS=1) the app sees the client's address and scheme."""

from __future__ import annotations

import pytest
from flask import request

from tests.conftest import make_app, running

FORWARDED = {"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https"}


@pytest.mark.parametrize(
    ("hops", "address", "scheme"), [(0, "127.0.0.1", "http"), (1, "203.0.113.7", "https")]
)
def test_forwarded_headers_are_trusted_only_when_configured(
    tmp_path, redis_url, hops, address, scheme
):
    with running(make_app(tmp_path, redis_url, PROXY_HOPS=hops)) as app:

        @app.get("/_whoami")
        def whoami() -> str:
            return f"{request.remote_addr} {request.scheme}"

        response = app.test_client().get(
            "/_whoami", headers=FORWARDED, environ_base={"REMOTE_ADDR": "127.0.0.1"}
        )
        assert response.get_data(as_text=True) == f"{address} {scheme}"
