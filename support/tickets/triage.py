"""First-pass triage for new tickets (the rules engine will replace this table)."""

from __future__ import annotations

from support.models.ticket import Impact, Priority

_PRIORITY_BY_IMPACT = {
    Impact.JUST_ME: Priority.NORMAL,
    Impact.SOME_USERS: Priority.HIGH,
    Impact.MANY_USERS: Priority.URGENT,
}


def initial_priority(impact: Impact) -> Priority:
    return _PRIORITY_BY_IMPACT[impact]
