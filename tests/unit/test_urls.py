"""Links in emails start from BASE_URL and take their path from the URL map, inside a
request or not (RQ jobs have none)."""

from __future__ import annotations

import pytest
from werkzeug.routing import BuildError

from support.urls import external_url


@pytest.mark.parametrize(
    ("base_url", "expected"),
    [
        ("https://help.example.com", "https://help.example.com/tickets/SUP-ABC123"),
        ("https://help.example.com/", "https://help.example.com/tickets/SUP-ABC123"),
        ("https://example.com/support", "https://example.com/support/tickets/SUP-ABC123"),
        ("https://example.com/support/", "https://example.com/support/tickets/SUP-ABC123"),
    ],
)
def test_base_url_with_or_without_a_prefix_or_trailing_slash(app, base_url, expected):
    app.config["BASE_URL"] = base_url
    assert external_url("portal.detail", ref="SUP-ABC123") == expected


def test_routes_of_each_blueprint_and_query_values(app):
    app.config["BASE_URL"] = "https://help.example.com"
    assert (
        external_url("board.ticket", ref="SUP-1") == "https://help.example.com/board/tickets/SUP-1"
    )
    assert (
        external_url("survey.answer", token="abc.DEF_-1")
        == "https://help.example.com/survey/abc.DEF_-1"
    )
    assert (
        external_url("portal.detail", ref="SUP-1", before=7)
        == "https://help.example.com/tickets/SUP-1?before=7"
    )


def test_a_request_on_another_host_does_not_change_the_link(app):
    app.config["BASE_URL"] = "https://help.example.com/desk/"
    with app.test_request_context("/tickets/", base_url="http://10.0.0.5:8000/mounted"):
        assert (
            external_url("portal.detail", ref="SUP-1")
            == "https://help.example.com/desk/tickets/SUP-1"
        )


def test_an_unknown_endpoint_is_an_error_not_a_broken_link(app):
    with pytest.raises(BuildError):
        external_url("portal.nowhere")
