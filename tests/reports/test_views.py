"""/reports and its CSV export through the web: who may see them, filters in the
address, the CSV's content, bad input, and a constant number of queries."""

from __future__ import annotations

import csv
import io

import pytest

from tests.reports.conftest import Week

WEEK = "from=2031-03-03&to=2031-03-09"
pytestmark = pytest.mark.usefixtures("frozen")


def _csv(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.get_data(as_text=True))))


def test_customers_and_strangers_are_kept_out(client, auth, week: Week):
    assert client.get("/reports").status_code in (302, 303)  # to the login page
    auth.login(week.customer)
    assert client.get("/reports").status_code == 403
    assert client.get("/reports/export/volume.csv").status_code == 403


def test_the_page_shows_the_figures_worked_out_by_hand(client, auth, week: Week, admin):
    auth.login(admin)
    page = client.get(f"/reports?{WEEK}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    for text in [
        "Created</dt><dd>7",
        "Resolved</dt><dd>5",
        "2.0 h",
        "71%",
        "4.0",
        "Alex Agent",
        "Bea Agent",
        "Took too long",
        'href="/reports/kb"',
    ]:
        assert text in html, text
    assert "&lt;b&gt;Great&lt;/b&gt; help" in html and "<b>Great</b>" not in html
    # Five drawings (volume, backlog, first response, SLA, satisfaction), not the bell icon.
    assert html.count('<svg viewBox="0 0 640') == 5


def test_filters_live_in_the_address(client, auth, week: Week, admin):
    auth.login(admin)
    html = client.get(f"/reports?{WEEK}&channel=portal&group=week&agent={week.bea.id}").get_data(
        as_text=True
    )
    assert '<option value="portal" selected>' in html
    assert '<option value="week" selected>' in html
    assert f'<option value="{week.bea.id}" selected>' in html
    # Every CSV link carries the same filters.
    assert (
        f"/reports/export/agents.csv?from=2031-03-03&amp;to=2031-03-09&amp;group=week"
        f"&amp;channel=portal&amp;agent={week.bea.id}" in html
    )


def test_htmx_gets_the_report_region_only(client, auth, week: Week, admin):
    auth.login(admin)
    response = client.get(f"/reports?{WEEK}", headers={"HX-Request": "true"})
    html = response.get_data(as_text=True)
    assert html.lstrip().startswith('<div id="report"') and "<nav" not in html
    assert "HX-Request" in response.headers["Vary"]


def test_an_agent_of_another_team_sees_an_empty_report(client, auth, week: Week, make):
    auth.login(make.agent(name="Pat Payments", team_id=week.other_team.id))
    html = client.get(f"/reports?{WEEK}").get_data(as_text=True)
    assert "No tickets from" in html and "Alex Agent" not in html


def test_csv_of_a_table_with_the_filters_applied(client, auth, week: Week, admin):
    auth.login(admin)
    response = client.get(f"/reports/export/volume.csv?{WEEK}")
    assert response.mimetype == "text/csv"
    assert "support-volume-20310303-20310309.csv" in response.headers["Content-Disposition"]
    rows = _csv(response)
    assert rows[0] == [
        "Period",
        "Created",
        "Resolved",
        "Backlog at end",
        "Average backlog age (hours)",
    ]
    assert [r[1] for r in rows[1:]] == ["2", "1", "1", "1", "1", "1", "0"]
    assert rows[-1][3:] == ["4", "100.75"]
    channels = _csv(client.get(f"/reports/export/channels.csv?{WEEK}&channel=email"))
    assert channels[1:] == [["Email", "2", "1", "1.25", "4.00"]]


def test_csv_of_every_ticket_streams_their_times(client, auth, week: Week, admin):
    auth.login(admin)
    response = client.get(f"/reports/export/tickets.csv?{WEEK}")
    assert response.is_streamed
    rows = _csv(response)
    assert rows[0][:2] == ["Reference", "Filed"] and len(rows) == 1 + 7
    by_ref = {row[0]: row for row in rows[1:]}
    t6 = by_ref[week.tickets["T6"].ref]
    assert t6[8:12] == ["0.50", "1.50", "yes", "yes"]  # business hours, 9 h paused
    t7 = by_ref[week.tickets["T7"].ref]
    assert t7[8:12] == ["", "", "no", "no"]


@pytest.mark.parametrize(
    "query, message",
    [
        ("from=2031-13-01", "is not a date"),
        ("from=yesterday", "is not a date"),
        ("from=2031-03-09&to=2031-03-01", "swap them"),
        ("from=1990-01-01&to=2031-03-01", "at most 366 days"),
    ],
)
def test_bad_dates_get_a_clear_400(client, auth, week: Week, admin, query, message):
    auth.login(admin)
    page = client.get(f"/reports?{query}")
    assert page.status_code == 400
    assert message in page.get_data(as_text=True)
    export = client.get(f"/reports/export/volume.csv?{query}")
    assert export.status_code == 400 and message in export.get_data(as_text=True)


def test_odd_filters_are_ignored_not_errors(client, auth, week: Week, admin):
    auth.login(admin)
    for query in [
        "team=abc",
        "agent=99999999999",
        "channel=fax",
        "group=year",
        "priority=x",
        "category=no-such-topic",
    ]:
        assert client.get(f"/reports?{WEEK}&{query}").status_code == 200, query
    assert client.get("/reports/export/nothing.csv").status_code == 404


def test_queries_per_page_do_not_grow_with_the_data(
    client, auth, week: Week, admin, make, count_queries
):
    auth.login(admin)
    client.get(f"/reports?{WEEK}")  # warm: policies, categories
    with count_queries() as small:
        client.get(f"/reports?{WEEK}")
    for n in range(6):  # more tickets, agents, channels and ratings
        make.ticket()
        make.agent(name=f"Extra Agent {n}", team_id=week.team.id)
    with count_queries() as large:
        client.get("/reports?from=2031-03-01&to=2031-03-31")
    assert large.count == small.count
