"""One format for every promised time, with its zone: the helper, the HTML filter and the
plain-text filter all say the same (support/timezones.py is the one place)."""

from __future__ import annotations

from datetime import datetime

from flask import render_template_string

from support import timezones

T = datetime(2032, 3, 3, 17, 0)


def test_one_format_with_its_zone(app) -> None:
    with app.test_request_context():
        text = timezones.local(T, timezones.default_zone_name())
        html = render_template_string("{{ t|when }}", t=T)
        plain = render_template_string("{{ t|local }}", t=T)
    assert text == "Wed 03 Mar 2032, 17:00 UTC"
    assert f">{text}</time>" in html
    assert plain == text


def test_a_reader_zone_names_itself(app) -> None:
    assert timezones.local(T, "Europe/Paris") == "Wed 03 Mar 2032, 18:00 CET (Europe/Paris)"
