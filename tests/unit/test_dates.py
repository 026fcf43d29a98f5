"""One format for every promised time, with its zone: the helper, the HTML filter and the
plain-text filter all say the same."""

from __future__ import annotations

from datetime import datetime

from flask import render_template_string

from support import dates

T = datetime(2032, 3, 3, 17, 0)


def test_one_format_with_its_zone(app) -> None:
    assert dates.when_text(T) == "Wed 03 Mar 2032, 17:00 UTC"
    with app.test_request_context():
        html = render_template_string("{{ t|when }}", t=T)
        text = render_template_string("{{ t|when_text }}", t=T)
    assert ">Wed 03 Mar 2032, 17:00 UTC</time>" in html
    assert text == dates.when_text(T)
