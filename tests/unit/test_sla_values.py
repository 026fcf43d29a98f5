"""SLA targets and checkpoint kinds are enums that still read (and store) as the old
strings, and resuming the clock moves each due time on its own."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from support.models import Priority, Status, Ticket
from support.tickets import sla
from support.tickets.sla import CheckpointKind, SlaTarget

T0 = datetime(2032, 3, 1, 9, 0)  # a Monday
HOUR = timedelta(hours=1)


def test_targets_and_kinds_are_the_stored_strings():
    assert [t.value for t in SlaTarget] == ["first_response", "update", "resolution"]
    assert [k.value for k in CheckpointKind] == ["warning", "breach"]
    # Rows written before the enums, and JSON event data, hold the same strings.
    assert SlaTarget("update") is SlaTarget.UPDATE
    assert CheckpointKind.BREACH == "breach"
    assert json.dumps({"target": SlaTarget.FIRST_RESPONSE}) == '{"target": "first_response"}'


def test_each_target_has_its_label():
    assert [t.label for t in SlaTarget] == ["First response", "Next update", "Resolution"]
    assert SlaTarget("update").label == "Next update"  # a stored string finds it too


def test_in_words_reads_each_target_from_the_policy():
    targets = sla.Targets(timedelta(hours=8), timedelta(minutes=90), timedelta(days=3))
    assert sla.in_words(targets) == "8 hours"
    assert sla.in_words(targets, SlaTarget.UPDATE) == "90 minutes"
    assert sla.in_words(targets, SlaTarget.RESOLUTION) == "3 days"
    business = sla.Targets(timedelta(hours=8), HOUR, timedelta(days=2), business_hours=True)
    assert sla.in_words(business, SlaTarget.RESOLUTION) == "2 business days"


def test_checkpoints_and_next_due_use_the_enums(app):
    ticket = Ticket(
        priority=Priority.NORMAL,
        status=Status.OPEN,
        tier=1,
        first_response_due=T0 + 8 * HOUR,
        next_update_due=T0 + 8 * HOUR,
        resolution_due=T0 + 72 * HOUR,
    )
    assert sla.next_due(ticket) == (SlaTarget.FIRST_RESPONSE, T0 + 8 * HOUR)
    points = sla.checkpoints(ticket, T0 + 9 * HOUR)
    assert [(p.target, p.kind) for p in points] == [
        (SlaTarget.FIRST_RESPONSE, CheckpointKind.BREACH)
    ]
    assert all(isinstance(p.target, SlaTarget) for p in points)


def test_resume_moves_each_due_time_still_ahead_and_keeps_missed_ones(app):
    paused = T0 + 2 * HOUR
    ticket = Ticket(
        priority=Priority.NORMAL,
        first_response_due=T0 + HOUR,  # missed before the pause: stays
        next_update_due=None,  # no due time: stays None
        resolution_due=T0 + 72 * HOUR,  # 70 hours left at the pause
        sla_paused_at=paused,
    )
    resumed = paused + 5 * HOUR
    sla.resume(ticket, resumed)
    assert ticket.first_response_due == T0 + HOUR
    assert ticket.next_update_due is None
    assert ticket.resolution_due == resumed + 70 * HOUR
    assert ticket.sla_paused_at is None

    sla.resume(ticket, resumed + HOUR)  # not paused: nothing moves
    assert ticket.resolution_due == resumed + 70 * HOUR


def test_a_cards_countdown_agrees_with_next_due_and_the_checkpoints(app):
    """sla.countdown() looks at the targets once for the board's cards; what it says is
    what next_due() and checkpoints() say, before, at and after each warning and due time."""
    answered = {"first_responded_at": T0 + HOUR, "next_update_due": T0 + 20 * HOUR}
    tickets = [
        Ticket(priority=Priority.NORMAL, status=Status.OPEN, **due)
        for due in (
            {"tier": 1, "first_response_due": T0 + 8 * HOUR, "resolution_due": T0 + 72 * HOUR},
            {"tier": 1, **answered, "resolution_due": T0 + 12 * HOUR},  # resolution first
            {"tier": 2, "next_update_due": T0 + 4 * HOUR, "resolution_due": T0 + 5 * HOUR},
        )
    ]
    tickets.append(Ticket(priority=Priority.HIGH, status=Status.PENDING, tier=1))
    targets, said = sla.all_targets(), set()
    for ticket in tickets:
        for hours in range(0, 80):
            now = T0 + hours * HOUR
            warned = any(p.kind == CheckpointKind.WARNING for p in sla.checkpoints(ticket, now))
            soonest = sla.next_due(ticket)
            expected = None if soonest is None else (*soonest, warned)
            assert sla.countdown(ticket, now) == expected
            assert sla.countdown(ticket, now, targets[ticket.priority]) == expected
            said.add(expected and expected[2])
    assert said == {None, True, False}  # paused, warned and not
