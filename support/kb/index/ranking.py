"""Suggestions scored straight from the posting lists, without whoosh's matcher tree.

A suggestion is a wide OR of up to six terms in two fields. whoosh walks such a query
one document at a time through a tree of union matchers, and with thousands of
articles that walk was most of a suggestion's cost. Here each posting list is read
once into a score per article: the same sum whoosh computes for an OR of boosted
terms and phrases. The phrase bonus needs word positions, so they are read only for
the articles it could still lift into the results.
"""

from __future__ import annotations

import heapq
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass

from whoosh.codec.whoosh3 import W3LeafMatcher
from whoosh.matching import Matcher
from whoosh.searching import Searcher

from support.kb.index.schema import WEIGHTING

PHRASE_FIELD = "about"


@dataclass(frozen=True)
class Clause:
    """A term looked for in `fields`, its score in each multiplied by `boost`."""

    term: str
    fields: tuple[str, ...]
    boost: float


@dataclass(frozen=True)
class Pair:
    """Two terms at most `slop` words apart, in this order, in the phrase field: scores
    both terms' phrase-field scores again, times `boost` (as whoosh's Phrase does)."""

    first: str
    second: str
    boost: float
    slop: int = 2


def postings_weights(postings: Matcher) -> Iterator[tuple[int, float]]:
    """(docnum, weight) of each posting. whoosh's on-disk matcher is read a block at a
    time (its own block reading; a method call per posting cost more than the scoring)."""
    if type(postings) is W3LeafMatcher:
        # Its block methods are private: a test checks this path against the public
        # per-posting one, so a whoosh upgrade that changes them fails there.
        while postings.is_active():
            postings._read_ids()
            postings._read_weights()
            yield from zip(postings._ids, postings._weights, strict=True)
            postings._next_block()
        return
    while postings.is_active():  # another matcher (deleted articles filtered out, say)
        yield postings.id(), postings.weight()
        postings.next()


def _term_scores(
    searcher: Searcher, clauses: list[Clause], keep: set[str]
) -> tuple[dict[int, float], dict[str, dict[int, float]]]:
    """Article -> the clauses' summed score; and, for the terms in `keep`, article ->
    the term's unboosted score in the phrase field."""
    reader = searcher.reader()
    scores: defaultdict[int, float] = defaultdict(float)
    kept: dict[str, dict[int, float]] = {term: {} for term in keep}
    for clause in clauses:
        for field in clause.fields:
            if (field, clause.term) not in reader:
                continue
            of_weight = WEIGHTING.scorer(searcher, field, clause.term).of_weight
            score_of: dict[float, float] = {}  # a few distinct weights, many postings
            boost = clause.boost
            keeping = kept.get(clause.term) if field == PHRASE_FIELD else None
            for doc, weight in postings_weights(reader.postings(field, clause.term)):
                score = score_of.get(weight)
                if score is None:
                    score = score_of[weight] = of_weight(weight)
                scores[doc] += boost * score
                if keeping is not None:
                    keeping[doc] = score
    return scores, kept


def _positions(searcher: Searcher, term: str, docs: list[int]) -> dict[int, list[int]]:
    """Article -> the word positions of `term` in the phrase field, for sorted `docs`."""
    postings = searcher.reader().postings(PHRASE_FIELD, term)
    found = {}
    for doc in docs:
        if not postings.is_active():
            break
        postings.skip_to(doc)
        if postings.is_active() and postings.id() == doc:
            found[doc] = postings.value_as("positions")
    return found


def _near(first: list[int], second: list[int], slop: int) -> bool:
    return any(1 <= b - a <= slop for a in first for b in second)


def best(searcher: Searcher, clauses: list[Clause], pairs: list[Pair], limit: int) -> list:
    """The `limit` best (score, docnum), best first, as whoosh ranks the OR of the
    clauses (boosted terms) and pairs (phrases), ties by docnum."""
    scores, about = _term_scores(searcher, clauses, {t for p in pairs for t in (p.first, p.second)})
    # What each phrase could add to each article that has both its words; only an
    # article whose words and possible phrases reach the limit-th best words can rank.
    possible: defaultdict[int, dict[Pair, float]] = defaultdict(dict)
    for pair in pairs:
        first, second = about[pair.first], about[pair.second]
        for doc in first.keys() & second.keys():
            possible[doc][pair] = pair.boost * (first[doc] + second[doc])
    kth = heapq.nlargest(limit, scores.values())[-1] if scores else 0.0
    bonus: defaultdict[int, float] = defaultdict(float)
    for pair in pairs:
        docs = sorted(
            doc
            for doc, bonuses in possible.items()
            if pair in bonuses and scores[doc] + sum(bonuses.values()) >= kth
        )
        if not docs:
            continue
        first = _positions(searcher, pair.first, docs)
        second = _positions(searcher, pair.second, [doc for doc in docs if doc in first])
        for doc, positions in second.items():
            if _near(first[doc], positions, pair.slop):
                bonus[doc] += possible[doc][pair]
    ranked = heapq.nsmallest(
        limit, ((-(score + bonus.get(doc, 0.0)), doc) for doc, score in scores.items())
    )
    return [(-negated, doc) for negated, doc in ranked]
