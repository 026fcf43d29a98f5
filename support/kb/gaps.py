"""Content gaps: recurring ticket topics that no article answered (issue 15).

Explainable on purpose. Every ticket filed in the range is a question the help
centre did not settle (a deflected one is never filed); its words are reduced
to stems without stop words. A *significant* term is one shared by at least
`MIN_TICKETS` tickets but not by most of them. Topics are then taken greedily:
the pair of significant terms shared by the most tickets not yet in a topic
(a pair says more than a word: "voucher code", not "code"), then the next, as
long as a pair still gathers `MIN_TICKETS`. Each topic says how many of its
tickets were filed after the customer saw suggestions and how many saw none,
and which article the knowledge base finds closest to it.
"""

from __future__ import annotations

import itertools
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from sqlalchemy import select

from support.extensions import db
from support.kb import index
from support.kb.index.schema import stem_word
from support.kb.insights import DateRange
from support.models import Category, SuggestionShown
from support.models.ticket import Ticket

MIN_TICKETS = 3
MAX_TICKETS = 2000  # the newest of a range: topics of a year need no more
MAX_COMMON_SHARE = 0.25  # a term in more tickets than this is the help desk's, not a topic's
COMMON_FROM = 50  # ...once there are enough tickets to tell (in 20, a topic can be 8 of them)
# Words of complaint that say nothing about the topic (the KB's stop words have "cant").
VAGUE = frozenset(["cannot", "unable", "anymore", "still", "again", "please", "help", "wrong"])
SUBJECT_WEIGHT = 2  # a subject names the topic more often than the description's details
TOPICS = 10
EXAMPLES = 5
TERMS_PER_TICKET = 8


@dataclass
class TicketText:
    id: int
    ref: str
    subject: str
    category: str | None
    saw_suggestions: bool
    terms: list[str] = field(default_factory=list)  # most telling first
    weights: Counter = field(default_factory=Counter)  # term -> times said (subject counts double)


@dataclass
class Topic:
    terms: tuple[str, ...]  # stems, sorted: the topic's identity in URLs
    label: str  # the words customers used
    tickets: list[TicketText]
    closest: index.Hit | None = None

    @property
    def saw_suggestions(self) -> int:
        return sum(t.saw_suggestions for t in self.tickets)

    @property
    def no_suggestion(self) -> int:
        return len(self.tickets) - self.saw_suggestions

    @property
    def examples(self) -> list[TicketText]:
        return self.tickets[:EXAMPLES]

    @property
    def key(self) -> str:
        return " ".join(self.terms)

    def category(self) -> str | None:
        counts = Counter(t.category for t in self.tickets if t.category)
        return counts.most_common(1)[0][0] if counts else None


def _tickets(period: DateRange) -> list[tuple[TicketText, str]]:
    """Tickets filed in `period`, newest first, with their text (one query)."""
    saw = Ticket.client_token.in_(select(SuggestionShown.form_token))
    rows = db.session.execute(
        select(Ticket.id, Ticket.ref, Ticket.subject, Ticket.description, Category.slug, saw)
        .outerjoin(Category, Category.id == Ticket.category_id)
        .where(Ticket.created_at >= period.start, Ticket.created_at < period.end)
        .where(Ticket.parent_id.is_(None))  # a follow-up repeats its parent's topic
        .order_by(Ticket.created_at.desc(), Ticket.id.desc())
        .limit(MAX_TICKETS)
    )
    return [
        (TicketText(i, ref, subject, slug, bool(seen)), f"{subject}\n{description}")
        for i, ref, subject, description, slug, seen in rows
    ]


def _stems(subject: str, text: str, surface: dict[str, Counter]) -> Counter:
    counts: Counter = Counter()
    for weight, part in ((SUBJECT_WEIGHT, subject), (1, text)):
        for word in index.words_of(part):
            if len(word) < 3 or word in VAGUE:
                continue
            stem = stem_word(word)
            counts[stem] += weight
            surface[stem][word] += 1
    return counts


def find_topics(period: DateRange, *, limit: int = TOPICS, closest: bool = True) -> list[Topic]:
    """Recurring topics of the tickets filed in `period`, largest first."""
    tickets = _tickets(period)
    surface: dict[str, Counter] = defaultdict(Counter)
    counted = [(t, _stems(t.subject, text, surface)) for t, text in tickets]
    frequency = Counter(stem for _, counts in counted for stem in counts)
    most = int(MAX_COMMON_SHARE * len(tickets)) if len(tickets) >= COMMON_FROM else None
    for ticket, counts in counted:
        ticket.weights = counts
        significant = [
            s
            for s in counts
            if frequency[s] >= MIN_TICKETS and (most is None or frequency[s] <= most)
        ]
        # Most telling first: said often here, said rarely elsewhere.
        significant.sort(key=lambda s: (-counts[s] / frequency[s], s))
        ticket.terms = significant[:TERMS_PER_TICKET]
    topics = _greedy(t for t, _ in counted)[:limit]
    for topic in topics:
        topic.label = _label(topic, surface)
        if closest:
            found = index.suggest(topic.label, limit=1)
            topic.closest = found[0] if found else None
    return topics


def _label(topic: Topic, surface: dict[str, Counter]) -> str:
    """The topic's terms in the customers' words and in the order they write them."""
    said = [stem_word(w) for t in topic.tickets for w in index.words_of(t.subject)]
    order = {stem: said.index(stem) if stem in said else len(said) for stem in topic.terms}
    terms = sorted(topic.terms, key=lambda stem: (order[stem], stem))
    return " ".join(surface[stem].most_common(1)[0][0] for stem in terms)


def _greedy(tickets) -> list[Topic]:
    free = list(tickets)
    topics: list[Topic] = []
    while True:
        pairs: Counter = Counter()
        said: Counter = Counter()  # how much the pair's tickets say its words: subjects win ties
        for ticket in free:
            for pair in itertools.combinations(sorted(ticket.terms), 2):
                pairs[pair] += 1
                said[pair] += ticket.weights[pair[0]] + ticket.weights[pair[1]]
        if not pairs or max(pairs.values()) < MIN_TICKETS:
            return topics
        pair = max(pairs, key=lambda p: (pairs[p], said[p], p))
        members = [t for t in free if set(pair) <= set(t.terms)]
        topics.append(Topic(pair, "", members))
        taken = {t.id for t in members}
        free = [t for t in free if t.id not in taken]


def topic_for(period: DateRange, key: str) -> Topic | None:
    """The topic with these terms (as in `Topic.key`) in `period`, for a draft."""
    wanted = tuple(sorted(key.split()))
    return next(
        (t for t in find_topics(period, limit=50, closest=False) if t.terms == wanted), None
    )
