"""Tag boxes suggest the tags in use as the agent types: a datalist filled in the page
(no script needed) and, in the panel, refreshed for the last name typed (htmx)."""

from __future__ import annotations

import html
import re

from support.tickets import service
from support.tickets import tags as tag_names
from tests.board.conftest import HX, said, text_of, words


def options(markup: str, datalist: str) -> list[str]:
    inside = re.search(rf'<datalist id="{datalist}">(.*?)</datalist>', markup, re.S).group(1)
    return [html.unescape(v) for v in re.findall(r'<option value="([^"]*)"', inside)]


def test_completions_keep_what_was_typed_and_offer_the_rest() -> None:
    names = ["damaged", "refund", "vip seller", "vip buyer"]
    assert tag_names.completions("", names) == names
    assert tag_names.completions("refund, vi", names) == ["refund, vip seller", "refund, vip buyer"]
    assert tag_names.completions("refund,", names) == [
        "refund, damaged",
        "refund, vip seller",
        "refund, vip buyer",
    ]
    assert tag_names.completions("seller", names) == ["vip seller"]  # inside a name too
    assert tag_names.completions("REFUND, Vip  S", names) == ["REFUND, vip seller"]


def test_only_tags_in_use_are_suggested(app, make, agent) -> None:
    ticket = make.ticket()
    service.set_tags(ticket, ["refund", "vip"], actor=agent)
    service.set_tags(ticket, ["refund"], actor=agent)  # "vip" is left on no ticket
    assert tag_names.in_use() == ["refund"]


def test_the_panel_suggests_tags_after_the_ones_there(client, as_agent, make, agent) -> None:
    ticket, other = make.ticket(), make.ticket()
    service.set_tags(other, ["damaged", "vip seller"], actor=agent)
    service.set_tags(ticket, ["vip seller"], actor=agent)
    page = text_of(client.get(f"/board/tickets/{ticket.ref}", headers=HX))
    assert 'list="panel-tag-options"' in page
    assert options(page, "panel-tag-options") == ["vip seller, damaged"]
    assert 'hx-get="/board/tags/options"' in page


def test_the_options_endpoint_completes_the_last_name(client, as_agent, make, agent) -> None:
    service.set_tags(make.ticket(), ["damaged", "refund", "vip seller"], actor=agent)
    response = client.get("/board/tags/options", query_string={"tags": "refund, v"}, headers=HX)
    assert response.status_code == 200
    assert re.findall(r'value="([^"]*)"', text_of(response)) == ["refund, vip seller"]
    hostile = client.get("/board/tags/options", query_string={"tags": "<script>x</script>,"})
    assert hostile.status_code == 200 and "<script>" not in text_of(hostile)
    huge = client.get("/board/tags/options", query_string={"tags": "x" * 100_000})
    assert huge.status_code in (200, 414)


def test_the_queue_suggests_tags_for_the_filter_and_the_bulk_box(
    client, as_agent, make, agent
) -> None:
    service.set_tags(make.ticket(), ["refund"], actor=agent)
    page = text_of(client.get("/queue"))
    assert options(page, "queue-tags") == ["refund"]
    assert page.count('list="queue-tags"') == 2


def test_the_board_filter_keeps_its_suggestions(client, as_agent, make, agent) -> None:
    service.set_tags(make.ticket(), ["refund"], actor=agent)
    assert options(text_of(client.get("/board")), "board-tags") == ["refund"]


def test_html_and_long_tags_stay_refused(client, as_agent, make) -> None:
    ticket = make.ticket()
    for bad, says in (
        ("<b>bold</b>", "isn't a tag"),
        ("x" * 500, "at most 40 characters"),
    ):
        response = client.post(
            f"/board/tickets/{ticket.ref}/tags",
            data={"version": ticket.version, "tags": bad},
            headers=HX,
        )
        assert response.status_code == 422 and says in said(response)
        bulk = client.post(
            "/queue/bulk",
            data={"action": "tag", "tag": bad, "ticket": [f"{ticket.ref}:{ticket.version}"]},
            headers=HX,
        )
        assert bulk.status_code == 422 and says in words(bulk)
        assert "<b>bold</b>" not in text_of(bulk)
    assert tag_names.in_use() == []
