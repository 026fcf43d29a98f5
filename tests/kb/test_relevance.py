"""How well suggestions rank: realistic customer phrasings, each with the article that
should come first. relevance_cases.yaml is the set the engine was tuned on;
relevance_heldout.yaml was written apart and is never tuned on, so its figures are
the honest ones for words the engine has not seen. Run with -s to see the figures:

    .venv/bin/pytest -s tests/kb/test_relevance.py
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import yaml
from flask import Flask

from support.kb import index
from support.kb.library import library

HERE = Path(__file__).parent
CASES = yaml.safe_load((HERE / "relevance_cases.yaml").read_text("utf-8"))
HELD_OUT = yaml.safe_load((HERE / "relevance_heldout.yaml").read_text("utf-8"))


def rank_of(expected: str, slugs: list[str]) -> int | None:
    return slugs.index(expected) + 1 if expected in slugs else None


def test_the_cases_are_many_varied_and_point_at_real_articles(app: Flask) -> None:
    assert len(CASES) >= 135
    kinds = {"short", "long", "typo", "synonym", "incidental"}
    assert {case["kind"] for case in CASES} == kinds
    # Issue 15: the development set keeps many phrasings where a feature word
    # ("paypal", "listing", "photos") stands beside the problem.
    assert sum(case["kind"] == "incidental" for case in CASES) >= 40
    known = library().articles
    assert [c["expect"] for c in CASES if c["expect"] not in known] == []


def figures(name: str, cases: list[dict], rank: Callable[[str], list[str]]) -> tuple[float, float]:
    """(MRR, hit@3) of `rank` over `cases`, printed as `name: value` lines with the misses."""
    mrr, _hit_at_1, hit_at_3 = all_figures(name, cases, rank)
    return mrr, hit_at_3


def all_figures(
    name: str, cases: list[dict], rank: Callable[[str], list[str]]
) -> tuple[float, float, float]:
    """(MRR, hit@1, hit@3) of `rank` over `cases`, printed with the misses."""
    ranks = [rank_of(case["expect"], rank(case["text"])) for case in cases]
    mrr = sum(1 / r for r in ranks if r) / len(ranks)
    hit_at_1 = sum(1 for r in ranks if r == 1) / len(ranks)
    hit_at_3 = sum(1 for r in ranks if r and r <= 3) / len(ranks)
    misses = [
        f"  {r or '-'}  {case['expect']}: {case['text'][:70]!r}"
        for case, r in zip(cases, ranks, strict=True)
        if r != 1
    ]
    print(f"\n{name}_cases: {len(ranks)}")
    print(f"{name}_mrr: {mrr:.3f}")
    print(f"{name}_hit_at_1: {hit_at_1:.3f}")
    print(f"{name}_hit_at_3: {hit_at_3:.3f}")
    print("not ranked first:\n" + "\n".join(misses))
    return mrr, hit_at_1, hit_at_3


def suggested(text: str) -> list[str]:
    return [hit.slug for hit in index.suggest(text)]


def searched(text: str) -> list[str]:
    return [hit.slug for hit in index.search(text).hits]


# On the 135 tuned phrasings, issue 15's problem words and `problems:` front matter
# took hit@1 from 0.711 to 0.770 (suggest) and 0.696 to 0.763 (search), hit@3 from
# 0.919 / 0.926 to 0.956 / 0.956, MRR from 0.810 / 0.814 to 0.857 / 0.859. The second
# round (damped term frequency, negation terms, attempts as circumstances, four
# articles' `problems:`) took hit@1 to 0.926 / 0.933, hit@3 to 0.993 / 0.985 and MRR
# to 0.957 / 0.961; the held-out figures moved far less (bench/README.md, issue 15).
# 16 development phrasings of the incidental kind (151 in all) took them to 0.901 /
# 0.907 hit@1, 0.980 / 0.980 hit@3, 0.937 / 0.944 MRR; the problems counted twice in
# `about` to 0.901 / 0.921, 0.980 / 0.987, 0.939 / 0.955.


def test_suggestions_rank_the_right_article_in_the_top_three(app: Flask) -> None:
    mrr, hit_at_1, hit_at_3 = all_figures("kb_relevance", CASES, suggested)
    assert hit_at_1 >= 0.9
    assert hit_at_3 >= 0.97
    assert mrr >= 0.93


def test_search_ranks_the_right_article_in_the_top_three(app: Flask) -> None:
    mrr, hit_at_1, hit_at_3 = all_figures("kb_search", CASES, searched)
    assert hit_at_1 >= 0.9
    assert hit_at_3 >= 0.97
    assert mrr >= 0.94


def test_held_out_phrasings_point_at_real_articles(app: Flask) -> None:
    assert len(HELD_OUT) >= 35
    known = library().articles
    assert [c["expect"] for c in HELD_OUT if c["expect"] not in known] == []
    tuned_on = {case["text"].lower() for case in CASES}
    assert [c["text"] for c in HELD_OUT if c["text"].lower() in tuned_on] == []


def test_held_out_phrasings_mostly_find_their_article(app: Flask) -> None:
    # A lower bar than the tuned set's: these are words the engine was never fitted to.
    _mrr, hit_at_3 = figures("kb_heldout_suggest", HELD_OUT, suggested)
    assert hit_at_3 >= 0.8
    _mrr, hit_at_3 = figures("kb_heldout_search", HELD_OUT, searched)
    assert hit_at_3 >= 0.8


def test_held_out_set_has_incidental_feature_words() -> None:
    # Issue 15: the misses shared a pattern (a word naming a feature, "credit card",
    # "listing", "review", matches another article's title or tags); the set keeps
    # enough phrasings of that kind to measure it, the third and fourth rounds apart.
    assert len(HELD_OUT) >= 134
    for number in (3, 4):
        kept = [case for case in HELD_OUT if case.get("round") == number]
        assert len(kept) >= 20, number
        assert {case["kind"] for case in kept} == {"incidental"}, number


def test_held_out_floor_for_the_right_article_first(app: Flask) -> None:
    # Measured with bench/kb_relevance.py: 0.564 before the circumstance weighting,
    # 0.600 after, on 55 phrasings (hit@3 0.800 both). With the 22 phrasings of the
    # second round (written before the next ranking change) the same engine scores
    # 0.571 / 0.558 hit@1 and 0.818 / 0.831 hit@3 (suggest / search) on 77; after the
    # problem words and `problems:` front matter (tuned on relevance_cases.yaml only)
    # 0.571 / 0.584 hit@1 and 0.831 / 0.857 hit@3. On 105 with the third round's 28
    # (written before they were ranked): 0.581 / 0.590 hit@1 and 0.848 / 0.876 hit@3
    # before the second ranking round, 0.590 / 0.600 and 0.848 / 0.876 after it. On 134
    # with the fourth round's 29 (written before they were ranked): 0.619 / 0.627 and
    # 0.851 / 0.881 before the problems counted twice, 0.634 / 0.627 and 0.858 / 0.896
    # after. The floor stops a regression.
    for name, rank in (("kb_heldout_suggest", suggested), ("kb_heldout_search", searched)):
        _mrr, hit_at_1, hit_at_3 = all_figures(name, HELD_OUT, rank)
        assert hit_at_1 >= 0.6, name
        assert hit_at_3 >= 0.85, name


def test_words_after_a_preposition_are_circumstances() -> None:
    from support.kb.language import circumstance_words

    assert circumstance_words("my refund isnt showing on my credit card") == {"credit", "card"}
    # A word also used outside the phrase is part of the problem.
    assert circumstance_words("my card was declined on my card") == set()
    assert circumstance_words("seller sent the parcel to my old address") == set()


def test_problem_words_are_symptoms_and_what_a_negation_denies() -> None:
    from support.kb.language import problem_words

    assert problem_words("my paypal refund hasnt arrived") == {"refund", "arrived"}
    assert problem_words("google pay won't go through at checkout") == {"through"}
    assert problem_words("the listing photos for my jacket") == set()
