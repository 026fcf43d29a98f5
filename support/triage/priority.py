"""Priority from impact × severity: rules admins edit (`PriorityRule`), with an explanation.

A rule matches when the ticket's impact is the rule's (or the rule takes any
impact) and, if the rule lists signals, the text contains one of them. Of the
rules that match, the highest priority wins; among equal priorities the first
rule (lowest position) is named. So rules never contradict each other silently:
the explanation says which ones matched and why the winner won.

With no rule in the table, `DEFAULT_RULES` apply: today's impact mapping plus
the urgent signals.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from support import settings_cache
from support.extensions import db
from support.models import Impact, Priority, PriorityRule

ORDER = [Priority.LOW, Priority.NORMAL, Priority.HIGH, Priority.URGENT]

_BY_IMPACT = {
    Impact.JUST_ME: Priority.NORMAL,
    Impact.SOME_USERS: Priority.HIGH,
    Impact.MANY_USERS: Priority.URGENT,
}


def by_impact(impact: Impact) -> Priority:
    """The priority impact alone gives: the default rules when no signal matches."""
    return _BY_IMPACT[impact]


@dataclass(frozen=True)
class Rule:
    name: str
    priority: Priority
    impact: Impact | None = None
    signals: tuple[str, ...] = ()
    position: int = 0
    id: int | None = None

    def matched_signal(self, text: str) -> str | None:
        """The first signal found in `text` (already lowercased and normalised)."""
        return next((s for s in self.signals if _contains(text, s)), None)


# name, impact, signals, priority
DEFAULT_RULES: list[Rule] = [
    Rule("Just me", Priority.NORMAL, Impact.JUST_ME, (), 10),
    Rule("Some users", Priority.HIGH, Impact.SOME_USERS, (), 20),
    Rule("Many users", Priority.URGENT, Impact.MANY_USERS, (), 30),
    Rule(
        "Money taken wrongly",
        Priority.HIGH,
        None,
        (
            "charged twice",
            "double charged",
            "charged me twice",
            "double charge",
            "money was taken",
            "taken twice",
        ),
        40,
    ),
    Rule(
        "Can't get in",
        Priority.HIGH,
        None,
        (
            "can't log in",
            "cant log in",
            "cannot log in",
            "can't login",
            "cant login",
            "can't sign in",
            "cant sign in",
            "cannot sign in",
            "locked out",
        ),
        50,
    ),
    Rule(
        "Account taken over",
        Priority.URGENT,
        None,
        (
            "account hacked",
            "been hacked",
            "was hacked",
            "hacked my account",
            "account was hacked",
            "compromised",
            "someone logged into my account",
            "account takeover",
        ),
        60,
    ),
    Rule(
        "Outage",
        Priority.URGENT,
        None,
        (
            "all buyers",
            "all customers",
            "all users",
            "outage",
            "site is down",
            "website is down",
            "nobody can",
        ),
        70,
    ),
]


def _normalise(text: str) -> str:
    text = text.lower().replace("\u2019", "'")
    return re.sub(r"\s+", " ", text)


def _contains(text: str, phrase: str) -> bool:
    return re.search(r"(?<!\w)" + re.escape(phrase) + r"(?!\w)", text) is not None


def parse_signals(raw: str | None) -> tuple[str, ...]:
    """One phrase per line or comma; blank ones dropped, lowercased."""
    parts = re.split(r"[\n,]", raw or "")
    return tuple(dict.fromkeys(_normalise(p).strip() for p in parts if p.strip()))


def _from_row(row: PriorityRule) -> Rule:
    return Rule(
        name=row.name,
        priority=Priority(row.priority),
        impact=Impact(row.impact) if row.impact else None,
        signals=parse_signals(row.signals),
        position=row.position,
        id=row.id,
    )


def rules() -> list[Rule]:
    """The admins' rules in order, or the defaults when the table is empty (read once per
    process while nobody edits them: support/settings_cache.py)."""
    return list(settings_cache.cached("priority_rules", _read_rules))


def _read_rules(session: Session) -> tuple[Rule, ...]:
    rows = session.scalars(select(PriorityRule).order_by(PriorityRule.position, PriorityRule.id))
    saved = list(rows)
    if not saved:
        return tuple(DEFAULT_RULES)
    return tuple(_from_row(r) for r in saved if r.is_active)


def save_defaults() -> None:
    """Copy the default rules into the table (the first edit starts from them)."""
    if db.session.scalar(select(PriorityRule.id).limit(1)) is not None:
        return
    for rule in DEFAULT_RULES:
        db.session.add(
            PriorityRule(
                name=rule.name,
                priority=rule.priority.value,
                impact=rule.impact.value if rule.impact else None,
                signals="\n".join(rule.signals) or None,
                position=rule.position,
            )
        )
    db.session.flush()


@dataclass(frozen=True)
class Match:
    rule: Rule
    because: str


@dataclass(frozen=True)
class Decision:
    priority: Priority
    winner: Match | None
    matches: list[Match]
    reason: str


def decide(
    subject: str, description: str, impact: Impact, rule_list: list[Rule] | None = None
) -> Decision:
    """The priority these rules give this text, and why."""
    text = _normalise(f"{subject}\n{description}"[:20_000])
    matches: list[Match] = []
    for rule in rule_list if rule_list is not None else rules():
        if rule.impact is not None and rule.impact != impact:
            continue
        why = [f"impact {impact.label.lower()}"] if rule.impact is not None else []
        if rule.signals:
            signal = rule.matched_signal(text)
            if signal is None:
                continue
            why.append(f"the text says “{signal}”")
        matches.append(Match(rule, " and ".join(why) or "applies to every ticket"))
    if not matches:
        return Decision(Priority.NORMAL, None, [], "no rule matched: normal")
    winner = max(matches, key=lambda m: (ORDER.index(m.rule.priority), -m.rule.position))
    reason = f"rule “{winner.rule.name}” ({winner.because}): {winner.rule.priority.label}"
    others = [m for m in matches if m is not winner]
    if others:
        reason += "; it wins over " + ", ".join(
            f"“{m.rule.name}” ({m.rule.priority.label})" for m in others
        )
        reason += " as the highest priority that matched"
    return Decision(winner.rule.priority, winner, matches, reason)


def _signals_overlap(a: Rule, b: Rule) -> bool:
    """Some text says a signal of both: they share one, or one contains another."""
    if not a.signals or not b.signals:
        return True
    return any(_contains(x, y) or _contains(y, x) for x in a.signals for y in b.signals)


def conflicts(rule_list: list[Rule]) -> list[str]:
    """Pairs of rules with different priorities that can match the same ticket, and who wins.

    Two rules can both match when their impacts agree (or either takes any impact)
    and their signals overlap (or either has none). A text that says signals of
    two different rules makes both match too; those pairs are not listed, or every
    pair of signal rules would be.
    """
    found = []
    for i, a in enumerate(rule_list):
        for b in rule_list[i + 1 :]:
            if a.priority == b.priority:
                continue
            if a.impact is not None and b.impact is not None and a.impact != b.impact:
                continue
            if not _signals_overlap(a, b):
                continue
            winner = higher(a.priority, b.priority)
            found.append(
                f"“{a.name}” ({a.priority.label}) and “{b.name}” ({b.priority.label}) "
                f"can both match: {winner.label} wins, the higher priority."
            )
    return found


def higher(a: Priority, b: Priority) -> Priority:
    return a if ORDER.index(a) >= ORDER.index(b) else b


class RuleError(ValueError):
    """A rule that can't be saved; the message is written for the admin."""


def _validated(name: str, impact: Impact | None, signals: str | None) -> tuple[str, str | None]:
    """The trimmed name and the stored signals, or a `RuleError` for the admin."""
    name = name.strip()
    if not name:
        raise RuleError("Give the rule a name.")
    parsed = parse_signals(signals)
    if impact is None and not parsed:
        raise RuleError(
            "A rule needs an impact, signals, or both; otherwise it matches everything."
        )
    return name[:80], "\n".join(parsed) or None


def add_rule(
    *, name: str, priority: Priority, impact: Impact | None, signals: str | None, position: int
) -> PriorityRule:
    """Save a rule (the defaults are saved first, so the table holds every rule in use)."""
    name, stored = _validated(name, impact, signals)
    save_defaults()
    rule = PriorityRule(
        name=name,
        priority=priority.value,
        impact=impact.value if impact else None,
        signals=stored,
        position=position,
    )
    db.session.add(rule)
    db.session.commit()
    return rule


def update_rule(
    rule_id: int,
    *,
    name: str,
    priority: Priority,
    impact: Impact | None,
    signals: str | None,
    position: int,
) -> PriorityRule:
    """Change a saved rule in place, with the same checks as `add_rule`."""
    row = db.session.get(PriorityRule, rule_id)
    if row is None:
        raise RuleError("That rule no longer exists: reload the page.")
    name, stored = _validated(name, impact, signals)
    row.name, row.priority, row.position = name, priority.value, position
    row.impact = impact.value if impact else None
    row.signals = stored
    db.session.commit()
    return row


def make_editable() -> None:
    """Save the default rules as the admins' own, so each one can be edited."""
    save_defaults()
    db.session.commit()


@dataclass(frozen=True)
class Deleted:
    name: str | None  # None: the rule was already gone
    defaults_back: bool  # it was the last saved rule, so the default rules apply again


def delete_rule(rule_id: int) -> Deleted:
    """Delete a saved rule. With no saved rule left, `rules()` gives the defaults again:
    the result says so, for the admin to be told."""
    save_defaults()
    row = db.session.get(PriorityRule, rule_id)
    name = row.name if row is not None else None
    if row is not None:
        db.session.delete(row)
    db.session.flush()
    left = db.session.scalar(select(PriorityRule.id).limit(1))
    db.session.commit()
    return Deleted(name, defaults_back=left is None)


def reset_rules() -> None:
    """Back to the default rules."""
    db.session.execute(PriorityRule.__table__.delete())
    db.session.commit()
