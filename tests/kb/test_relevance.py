"""How well suggestions rank: realistic customer phrasings, each with the article that
should come first (relevance_cases.yaml). Run with -s to see the figures:

    .venv/bin/pytest -s -p no:randomly tests/kb/test_relevance.py
"""

from __future__ import annotations

from pathlib import Path

import yaml
from flask import Flask

from support.kb import index
from support.kb.library import library

CASES = yaml.safe_load((Path(__file__).parent / "relevance_cases.yaml").read_text("utf-8"))


def rank_of(expected: str, slugs: list[str]) -> int | None:
    return slugs.index(expected) + 1 if expected in slugs else None


def test_the_cases_are_many_varied_and_point_at_real_articles(app: Flask) -> None:
    assert len(CASES) >= 45
    assert {case["kind"] for case in CASES} == {"short", "long", "typo", "synonym"}
    known = library().articles
    assert [c["expect"] for c in CASES if c["expect"] not in known] == []


def test_suggestions_rank_the_right_article_in_the_top_three(app: Flask) -> None:
    ranks = [
        rank_of(case["expect"], [hit.slug for hit in index.suggest(case["text"])]) for case in CASES
    ]
    mrr = sum(1 / rank for rank in ranks if rank) / len(ranks)
    hit_at_3 = sum(1 for rank in ranks if rank and rank <= 3) / len(ranks)
    misses = [
        f"  {rank or '-'}  {case['expect']}: {case['text'][:70]!r}"
        for case, rank in zip(CASES, ranks, strict=True)
        if rank != 1
    ]
    print(f"\nkb_relevance_cases: {len(ranks)}")
    print(f"kb_relevance_mrr: {mrr:.3f}")
    print(f"kb_relevance_hit_at_3: {hit_at_3:.3f}")
    print("not ranked first:\n" + "\n".join(misses))
    assert hit_at_3 >= 0.9
