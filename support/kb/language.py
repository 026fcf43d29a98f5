"""How customers write, for turning ticket text into search terms (no whoosh here).

Tuned on `tests/kb/relevance_cases.yaml`: change a list, run
`pytest -s tests/kb/test_relevance.py`, and keep the change only if the
figures it prints go up.
"""

from __future__ import annotations

import re
from collections import Counter

# What people write around their problem ("hi, I need help, please...") plus
# the pieces "can't" and "didn't" split into: none of it says what the
# problem is about. Counts and times ("two weeks ago") tell a story but match
# articles by accident ("two" is in "Two-step verification").
CONVERSATION_WORDS = frozenset(
    """
    i me my mine myself im ive id ill was were been being am do does did doing done
    has had having he she they them their theirs there here what which who whom whose
    why how where all any some no yes so too very just also only even still again
    already now then than but about after before into out over under up down off our
    ours these those would could should might must shall get gets got getting please
    thanks thank thx hi hello hey dear regards cheers help need needs want wanted
    like know tried try trying really anyone someone something anything
    t s d ll m re ve don didn doesn isn wasn hasn haven hadn aren weren won wouldn
    couldn shouldn cant wont dont didnt doesnt isnt wasnt hasnt havent
    one two three four five six seven eight nine ten first second last next ago
    today yesterday tomorrow morning afternoon evening night day days week weeks
    month months year years hour hours minute minutes time times
    work works working worked problem problems issue issues question questions
    thing things stuff way
    """.split()  # noqa: SIM905 - a word list reads better as text
)

# Customers' words for what the articles call something else. A match adds
# the article's words at a lower weight; the customer's own words still count.
SYNONYMS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(pattern), extra)
    for pattern, extra in [
        (r"\bwhere(?:'s|\s+is|\s+are)\s+(?:my|the|our)\b", "track tracking"),
        (r"\blog(?:ging)?\s*(?:in|on)\b|\blogin\b|\bsignin\b", "sign"),
        (r"\bmoney\s+back\b", "refund"),
        (r"\bcustomer\s+(?:service|care|support)\b", "contact support"),
        (r"\btwo[\s-]*factor\b|\b2fa\b|\bmfa\b", "two-step verification"),
        (r"\bpackages?\b|\bshipments?\b", "parcel"),
        (r"\bpurchased?\b|\bbought\b", "order"),
        (r"\bcounterfeit\b|\bfakes?\b|\breplica\b", "counterfeit fake"),
        (r"\bhack(?:er|ers|ing)?\b", "hacked"),
        (r"\bansw?er(?:s|ed)?\b|\brepl(?:y|ies|ied)\b", "response reply"),
        (r"\breceipts?\b|\binvoices?\b", "receipt invoice"),
        (r"\bdouble\s+(?:charged?|payment|billed)\b", "charged twice"),
        # "two" is a count, dropped as a word: "two identical charges" is the problem.
        (r"\btwo\s+(?:\w+\s+)?(?:charges|payments|amounts|transactions)\b", "charged twice"),
        (r"\bup\s+for\s+sale\b", "sell listing"),
    ]
]


def synonym_text(text: str) -> str:
    """The article words for what `text` says in a customer's words."""
    lowered = text.lower()
    return " ".join(extra for pattern, extra in SYNONYMS if pattern.search(lowered))


def edit_distance(a: str, b: str) -> int:
    """Optimal-string-alignment distance: Levenshtein, except that swapping two
    neighbouring letters ("recieve") is one typo, not two."""
    before_previous: list[int] = []
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        row = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            row[j] = min(previous[j] + 1, row[j - 1] + 1, previous[j - 1] + (ca != cb))
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                row[j] = min(row[j], before_previous[j - 2] + 1)
        before_previous, previous = previous, row
    return previous[-1]


def corrected_text(text: str, corrections: dict[str, str]) -> str | None:
    """`text` with each misspelt word replaced, keeping everything else as typed."""
    if not corrections:
        return None
    return re.sub(r"\w+", lambda m: corrections.get(m.group(0).lower(), m.group(0)), text)


# Words after these prepositions usually say where or with what something happened
# ("isn't showing ON MY CREDIT CARD", "different FROM THE LISTING"), not what went
# wrong; they name features, which are other articles' titles and tags. "to" and
# "about" are left out: "sent TO MY OLD ADDRESS" is the problem itself.
_CIRCUMSTANCE = re.compile(
    r"\b(?:on|in|from|with|at|for|via|using)\s+"
    r"(?:(?:my|the|a|an|your|our|their|his|her|this|that|one)\s+)?"
    r"((?:[a-z][a-z'-]*)(?:\s+[a-z][a-z'-]*)?)"
)


# Words that say what went wrong (a symptom, an action that failed) rather than which
# feature it happened with: "declined", "never arrived", "twice", "hacked". Articles are
# about problems, so these say more about the right one than a feature noun does.
PROBLEM_WORDS = frozenset(
    """
    declined decline rejected refused failed failing fails fail error errors wont
    arrived arrive arrives received receive showed shown missing lost stolen broken
    damaged cracked smashed crushed faulty fake counterfeit scam scammed fraud wrong
    twice double duplicate extra charged charge charges hacked compromised locked
    suspended restricted blocked banned removed expired invalid stuck hold held delayed
    cancel cancelled canceled refund refunded return returned dispute ignores ignoring
    responding replied answer reply forgot forgotten reset unknown unauthorised
    """.split()  # noqa: SIM905 - a word list reads better as text
)
# A word right after a negation is what did not happen: the problem itself
# ("hasn't arrived", "isn't back", "won't go through", "never came").
_NEGATED = re.compile(
    r"\b(?:not|never|no|nothing|nobody|cant|can't|cannot|wont|won't|isnt|isn't|hasnt|"
    r"hasn't|havent|haven't|didnt|didn't|doesnt|doesn't|arent|aren't|wasnt|wasn't)\s+"
    r"(?:(?:been|be|yet|even|come|got|get|go|still|shown|showed)\s+)?([a-z][a-z'-]*)"
)


# "doesn't WORK", "not AS described": a negated word that says nothing says nothing negated.
_EMPTY_WORDS = CONVERSATION_WORDS | frozenset(
    ["a", "an", "the", "as", "to", "of", "in", "on", "at", "for", "it", "that", "this"]
)


def negated_words(text: str) -> list[str]:
    """The lowercase words of `text` that a negation applies to, in order."""
    found = (m.group(1) for m in _NEGATED.finditer(text.lower()))
    return [word for word in found if word not in _EMPTY_WORDS]


def problem_words(text: str) -> set[str]:
    """The lowercase words of `text` that say what went wrong: known symptom words
    and the word a negation applies to."""
    lowered = text.lower()
    found = {w for w in re.findall(r"[a-z][a-z'-]*", lowered) if w in PROBLEM_WORDS}
    return found | set(negated_words(lowered))


# "Order NOT RECEIVED" and "my parcel NEVER ARRIVED" say the same, and it is what
# tells that article from "Lost or damaged parcel", which shares the feature word.
# A negated word is indexed and searched a second time as one term, "not_arrived".
NEGATION_MARK = "not_"


def negation_term(word: str) -> str:
    """The word that stands for `word` negated (stemmed like any other word)."""
    return NEGATION_MARK + word


def negation_text(text: str) -> str:
    """`text`'s negated words as negation terms, for the index."""
    return " ".join(negation_term(word) for word in negated_words(text))


# What the customer was doing when the problem struck ("restricted WHEN I TRY TO LEAVE
# A REVIEW") names a feature too: the problem is what happened, not the attempt.
_ATTEMPT = re.compile(
    r"\b(?:when|whenever|every\s+time)\s+i\s+(?:try|tried)\s+to\s+"
    r"((?:[a-z][a-z'-]*)(?:\s+[a-z][a-z'-]*){0,2})"
)


def circumstance_words(text: str) -> set[str]:
    """The lowercase words of `text` used only inside prepositional phrases or an
    attempt ("when I try to ..."): the circumstances (a word also used elsewhere is
    part of the problem)."""
    lowered = text.lower()
    # Word positions, so a word inside two overlapping phrases counts once.
    spans = [m.span(1) for p in (_CIRCUMSTANCE, _ATTEMPT) for m in p.finditer(lowered)]
    words = list(re.finditer(r"[a-z][a-z'-]*", lowered))
    inside = Counter(w.group() for w in words if any(a <= w.start() < b for a, b in spans))
    everywhere = Counter(w.group() for w in words)
    return {word for word, count in inside.items() if everywhere[word] == count}
