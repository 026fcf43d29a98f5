"""/admin/mail with CSRF protection on: every action needs the page's token, plain or htmx."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

from support.extensions import db
from support.models import InboundMessage, InboundStatus
from tests.conftest import make_app, running
from tests.web.test_admin_mail import held
from tests.web.test_csrf import log_in, page_token


@pytest.fixture
def app(tmp_path: Path, redis_url: str) -> Iterator[Flask]:
    with running(make_app(tmp_path, redis_url, WTF_CSRF_ENABLED=True)) as app:
        yield app


def test_actions_without_the_token_change_nothing(client, make) -> None:
    admin = make.admin()
    log_in(client, admin)
    (message,) = held()
    paths = [f"/admin/mail/messages/{message.id}/{a}" for a in ("retry", "file-as-new", "discard")]
    for path in [*paths, f"/admin/mail/messages/{message.id}/attach", "/admin/mail/settings"]:
        assert client.post(path, data={"ref": "x"}).status_code == 400
        assert (
            client.post(path, headers={"HX-Request": "true", "X-CSRFToken": "forged"}).status_code
            == 400
        )
    db.session.expire_all()
    assert db.session.get(InboundMessage, message.id).status == InboundStatus.QUARANTINED

    token = page_token(client, "/admin/mail/")
    response = client.post(paths[2], headers={"HX-Request": "true", "X-CSRFToken": token})
    assert response.status_code == 200 and "Discarded" in response.text
