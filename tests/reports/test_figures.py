"""Every figure of the hand-built week (tests/reports/conftest.py), worked out by hand.

Range: Monday 3 – Sunday 9 March 2031. Tickets filed in it: T1–T7.
"""

from __future__ import annotations

from datetime import date

import pytest

from support.board import queries as board
from support.models import User
from support.reports import figures
from support.reports.filters import BadRange, ReportFilters
from tests.reports.conftest import NOW

H = 3600


def report(viewer: User, **args: str) -> figures.Report:
    args = {"from": "2031-03-03", "to": "2031-03-09", **args}
    filters = ReportFilters.from_args(args, date(2031, 3, 20))
    # The board's own team, category and priority conditions, as the page passes them.
    chosen = board.BoardFilters(
        team=filters.team, category=filters.category, priority=filters.priority
    )
    return figures.build(filters, viewer, NOW, board.conditions(chosen, viewer, NOW))


def test_volume_and_backlog(week, admin):
    r = report(admin)
    # Filed: Mon T1 T2, Tue T3, Wed T4, Thu T6, Fri T5, Sat T7.
    assert [p.created for p in r.days] == [2, 1, 1, 1, 1, 1, 0]
    # Done in the range: T9 and T2 (Mon), T1 (Wed), T4 (Thu), T3 (Fri); T5 and T6 after.
    assert [p.resolved for p in r.days] == [2, 0, 1, 1, 1, 0, 0]
    assert (r.created, r.resolved) == (7, 5)
    # The backlog as the status events tell it. Before: T8, T9. Mon +T1 +T2 −T9 −T2 = 2
    # (T8, T1); Tue +T3, and T1 resolved at 09:00 = 2 (T8, T3: T1 is not in it, although
    # it is reopened later); Wed +T4, T1 reopened 10:00 and resolved 12:00 = 3;
    # Thu +T6 −T4 = 3; Fri +T5 −T3 = 3; Sat +T7 = 4; Sun 4 (T8, T6, T5, T7; T2's
    # closing after being resolved changes nothing).
    assert [p.backlog for p in r.days] == [2, 2, 3, 3, 3, 4, 4]
    # Tuesday's age at Wed 00:00: T8 108 h, T3 16 h: 62 h.
    assert r.days[1].backlog_age_hours == pytest.approx(62)
    # Ages at Mon 10 00:00: T8 228 h, T6 80 h, T5 57 h, T7 38 h: (228+80+57+38)/4 = 100.75 h.
    assert r.days[-1].backlog_age_hours == pytest.approx(100.75)
    # By age: 1–3 days T7 (1.6), T5 (2.4); 3–7 days T6 (3.3); 7–30 days T8 (9.5).
    assert r.backlog_ages == [
        ("Under 1 day", 0),
        ("1–3 days", 2),
        ("3–7 days", 1),
        ("7–30 days", 1),
        ("Over 30 days", 0),
    ]
    # One week: the days added up.
    assert len(r.weeks) == 1 and (r.weeks[0].created, r.weeks[0].resolved) == (7, 5)


def test_response_and_resolution_times(week, admin):
    r = report(admin)
    # First response (clock hours): T6 0.5 (business), T1 1, T2 2, T4 2, T5 3 (business:
    # Fri 2 h + Mon 1 h), T3 10. n = 6: median at position 0.5·5 = 2.5, between 2 and 2 = 2;
    # p90 at 0.9·5 = 4.5, between 3 and 10: 3 + 0.5·7 = 6.5.
    assert r.fr_p50 == pytest.approx(2 * H)
    assert r.fr_p90 == pytest.approx(6.5 * H)
    # Resolution: T6 1.5 (10.5 − 9 paused, business), T4 6 (30 − 24 paused), T5 9
    # (business), T2 12, T1 26 (51 − 25 paused), T3 73. Median 9 + 0.5·3 = 10.5;
    # p90 26 + 0.5·47 = 49.5.
    assert r.res_p50 == pytest.approx(10.5 * H)
    assert r.res_p90 == pytest.approx(49.5 * H)
    # Buckets: under 1 h T6; 1–4 h T1 (exactly 1 h), T2, T4, T5; 8–24 h T3.
    assert [n for _, n in r.fr_buckets] == [1, 4, 0, 1, 0, 0]


def test_sla_attainment(week, admin):
    r = report(admin)
    # First response: T1–T6 answered, T7 unanswered past its due: 7 counted; late: T3, T7.
    assert (r.totals.fr_met, r.totals.fr_counted) == (5, 7)
    # Resolution: T1–T6 done, T7 past due: 7 counted; late: T3 (09:00 > 08:00), T7.
    # T2's due was moved by closing (resolved → closed resumes the clock): still met.
    assert (r.totals.res_met, r.totals.res_counted) == (5, 7)
    assert r.weeks[0].fr_attainment == pytest.approx(5 / 7)
    assert r.weeks[0].res_attainment == pytest.approx(5 / 7)
    # By day of filing: Tue (T3) 0 of 1, Sat (T7) 0 of 1.
    assert [(p.fr_met, p.fr_counted) for p in r.days] == [
        (2, 2),
        (0, 1),
        (1, 1),
        (1, 1),
        (1, 1),
        (0, 1),
        (0, 0),
    ]


def test_escalations_reopens_and_satisfaction(week, admin):
    r = report(admin)
    assert (r.escalations, r.reopens) == (1, 1)  # T3 escalated, T1 reopened
    assert r.reopen_rate == pytest.approx(1 / 5)
    # Ratings in the range: T1 5, T2 4, T3 2, T4 5 (T9's 3 was before): 16 / 4 = 4.0,
    # satisfied (4 or 5) 3 of 4.
    assert r.ratings == {1: 0, 2: 1, 3: 0, 4: 1, 5: 2}
    assert r.satisfaction == pytest.approx(4.0)
    assert r.satisfied_share == pytest.approx(0.75)
    assert [c["comment"] for c in r.comments] == [
        "Took too long",
        "<b>Great</b> help",
        "Quick and kind",
    ]


def test_per_agent_and_per_channel(week, admin):
    r = report(admin)
    rows = {row.label: row for row in r.agents}
    alex, bea = rows["Alex Agent"], rows["Bea Agent"]
    # Alex: T1 T2 T5 (first responses 1, 2, 3 → median 2); resolved T1 T2; replies on
    # T1 and T2 (T5's came after the range); ratings 5 and 4.
    assert (alex.assigned, alex.replies, alex.resolved) == (3, 2, 2)
    assert alex.fr_median == pytest.approx(2 * H)
    assert alex.satisfaction == pytest.approx(4.5)
    # Bea: T3 T4 T6 (10, 2, 0.5 → 2); resolved T3 T4; replies on T3, T4, T6; ratings 2, 5.
    assert (bea.assigned, bea.replies, bea.resolved) == (3, 3, 2)
    assert bea.fr_median == pytest.approx(2 * H)
    assert bea.satisfaction == pytest.approx(3.5)
    channels = {row.key: row for row in r.channels}
    # Portal: filed T1 T3 T4, done T1 T3 T4 T9, first responses 1, 10, 2 → 2.
    assert (channels["portal"].created, channels["portal"].resolved) == (3, 4)
    assert channels["portal"].fr_median == pytest.approx(2 * H)
    # Email: T2 (2 h) and T6 (0.5 h): median 1.25 h.
    assert channels["email"].fr_median == pytest.approx(1.25 * H)
    assert (channels["chat"].created, channels["chat"].fr_median) == (1, None)


def test_filters_narrow_every_figure(week, admin):
    r = report(admin, channel="portal")
    assert (r.created, r.resolved) == (3, 4)
    # Portal first responses 1, 2, 10: median 2, p90 at 1.8 → 2 + 0.8·8 = 8.4.
    assert r.fr_p90 == pytest.approx(8.4 * H)
    r = report(admin, agent=str(week.bea.id))
    assert r.created == 3 and r.ratings[2] == 1


def test_agents_count_their_own_team(week, make):
    assert report(week.alex).created == 7
    stranger = make.agent(name="Other Team", team_id=week.other_team.id)
    empty = report(stranger)
    assert (empty.created, empty.resolved, empty.backlog_end) == (0, 0, 0)
    assert empty.is_empty
    # A team filter cannot widen an agent's view.
    assert report(stranger, team=str(week.team.id)).created == 0


@pytest.mark.parametrize(
    "args, message",
    [
        ({"from": "2031-02-30"}, "not a date"),
        ({"from": "2031-03-09", "to": "2031-03-01"}, "swap them"),
        ({"from": "2020-01-01", "to": "2031-03-01"}, "at most 366 days"),
    ],
)
def test_bad_ranges_say_what_to_change(args, message):
    with pytest.raises(BadRange, match=message):
        ReportFilters.from_args(args, date(2031, 3, 20))
