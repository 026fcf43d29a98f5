"""Issue 15: an incidental word naming a feature must not outrank the customer's problem."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from flask import Flask

from support.kb import index, language
from support.kb.index import schema
from tests.kb.conftest import write_article

CASES = yaml.safe_load((Path(__file__).parent / "relevance_cases.yaml").read_text("utf-8"))


def test_a_repeated_word_counts_less_each_time() -> None:
    assert schema.damped_tf(1) == 1
    assert 1 < schema.damped_tf(2) < schema.damped_tf(6) < 2


def test_a_feature_word_repeated_in_tags_does_not_outrank_the_problem(
    own_index_app: Flask, articles_copy: Path
) -> None:
    # "Quuxwallet" names a feature; one article's tags say it five times, the other
    # article is about the problem ("zorbfault") and mentions the feature once.
    write_article(
        articles_copy,
        "quuxwallet-settings.md",
        title="Quuxwallet settings",
        extra="problems: [quuxwallet, quuxwallet card, quuxwallet pay, quuxwallet limits]\n",
    )
    write_article(
        articles_copy,
        "zorbfault-help.md",
        title="Zorbfault",
        extra="problems: [quuxwallet]\n",
    )
    index.rebuild(own_index_app)
    text = "zorbfault quuxwallet"
    assert [h.slug for h in index.suggest(text)][:1] == ["zorbfault-help"]
    assert [h.slug for h in index.search(text).hits][:1] == ["zorbfault-help"]


def test_a_word_of_the_problems_outweighs_a_lone_tag_word(
    own_index_app: Flask, articles_copy: Path
) -> None:
    # Issue 15: "quuxwallet" names a feature, said three times in one article's tags;
    # the other article's problems say "zorbfault" twice. The customer mentions both
    # once: the problem wins, as the problems count twice in `about`.
    (articles_copy / "quuxwallet.md").write_text(
        "---\ntitle: Wallet help\ncategory: payments\n"
        "tags: [quuxwallet, quuxwallet pay, quuxwallet card]\n---\n\nSome text.\n",
        encoding="utf-8",
    )
    (articles_copy / "zorbfault.md").write_text(
        "---\ntitle: Something went wrong\ncategory: payments\ntags: [test]\n"
        "problems: [zorbfault, zorbfault again]\n---\n\nSome text.\n",
        encoding="utf-8",
    )
    index.rebuild(own_index_app)
    text = "zorbfault quuxwallet"
    assert [h.slug for h in index.suggest(text)][:2] == ["zorbfault", "quuxwallet"]
    assert [h.slug for h in index.search(text).hits][:2] == ["zorbfault", "quuxwallet"]


def test_negated_words_are_what_a_negation_denies() -> None:
    text = "my parcel never arrived and the seller hasn't replied"
    assert language.negated_words(text) == ["arrived", "replied"]
    assert language.negation_text("Order not received") == "not_received"
    # A negated word that says nothing ("it doesn't work") adds nothing.
    assert language.negated_words("it doesn't work, not as described") == []


def test_a_negated_problem_finds_the_article_that_says_it_negated(app: Flask) -> None:
    # "parcel" is all over "Lost or damaged parcel"; "Order not received" says
    # "not arrived", which is what the customer says.
    text = "parcel never arrived"
    assert [h.slug for h in index.suggest(text)][:1] == ["order-not-received"]
    assert [h.slug for h in index.search(text).hits][:1] == ["order-not-received"]


def test_what_the_customer_tried_to_do_is_a_circumstance() -> None:
    text = "it says my account is restricted when I try to leave a review"
    assert {"leave", "review"} <= language.circumstance_words(text)
    assert "restricted" not in language.circumstance_words(text)


def test_a_counted_charge_and_up_for_sale_have_the_articles_words() -> None:
    assert "charged twice" in language.synonym_text("I see two pending amounts on my card")
    assert "sell listing" in language.synonym_text("how do I put my bike up for sale")


def test_an_attempted_feature_does_not_outrank_the_problem(app: Flask) -> None:
    text = "it says my account is restricted when I try to leave a review"
    assert [h.slug for h in index.suggest(text)][:1] == ["account-locked"]


def _whoosh_ranking(searcher: Any, clauses: list, pairs: list, limit: int) -> list:
    from whoosh.query import Or, Phrase, Term

    query = Or(
        [Term(field, c.term, boost=c.boost) for c in clauses for field in c.fields]
        + [Phrase("about", [p.first, p.second], slop=p.slop, boost=p.boost) for p in pairs]
    )
    results = searcher.search(query, limit=limit, optimize=False)
    return [(round(r.score, 9), r.docnum) for r in results]


def test_suggestions_score_as_whoosh_scores_the_same_query(app: Flask) -> None:
    # ranking.best reads the posting lists itself (issue 15: speed); it must rank
    # exactly as whoosh ranks the OR of the same boosted terms and phrases.
    from support.kb.index import query, ranking
    from support.kb.index.store import live

    generation = live(app)
    compared = 0
    with generation.searcher() as searcher:
        for case in CASES:
            terms = query._key_terms(generation, searcher, case["text"], query.SUGGEST_TERMS)
            clauses, pairs = query._plan(searcher, terms, fast=True)
            ours = [(round(s, 9), d) for s, d in ranking.best(searcher, clauses, pairs, 5)]
            assert ours == _whoosh_ranking(searcher, clauses, pairs, 5), case["text"]
            compared += bool(pairs)
    assert compared > 50  # phrases were part of it


def test_postings_are_read_a_block_at_a_time_as_one_by_one(app: Flask) -> None:
    from whoosh.matching import WrappingMatcher

    from support.kb.index.ranking import postings_weights
    from support.kb.index.store import live

    with live(app).searcher() as searcher:
        reader = searcher.reader()
        for field, term in [("about", "account"), ("content", "order"), ("content", "seller")]:
            blockwise = list(postings_weights(reader.postings(field, term)))
            one_by_one = list(postings_weights(WrappingMatcher(reader.postings(field, term))))
            assert len(blockwise) > 5
            assert blockwise == one_by_one


def test_a_term_in_one_field_keeps_its_weight(app: Flask) -> None:
    # whoosh drops the boost of an OR holding one term: with thousands of articles a
    # common word searched in titles only counted as much as the rarest word.
    from support.kb.index import ranking
    from support.kb.index.store import live

    with live(app).searcher() as searcher:
        full = ranking.best(searcher, [ranking.Clause("refund", ("about",), 1.0)], [], 1)
        weak = ranking.best(searcher, [ranking.Clause("refund", ("about",), 0.25)], [], 1)
    assert weak[0][0] == full[0][0] * 0.25
