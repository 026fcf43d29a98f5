"""Triage of new tickets: category suggestion, priority rules and routing (SPEC §7).

Triage decides, the ticket service applies: `decide` returns a `Decision`
(category, priority, team, assignee, each with its reason) and changes nothing;
filing applies it through the ticket's unit of work. The modules: `decision`
(putting it together), `suggest` (the category model), `priority` (the rules),
`routing` (team and agent), `corrections` (agents' corrections teach the
model), `settings` (what admins edit).
"""

from support.triage.corrections import latest_suggestion, learn_correction
from support.triage.decision import (
    CategoryChoice,
    Decision,
    decide,
    preview,
    priority_data,
    route_data,
    suggest_category,
    suggester,
    suggestion_data,
)

__all__ = [
    "CategoryChoice",
    "Decision",
    "decide",
    "latest_suggestion",
    "learn_correction",
    "preview",
    "priority_data",
    "route_data",
    "suggest_category",
    "suggester",
    "suggestion_data",
]
