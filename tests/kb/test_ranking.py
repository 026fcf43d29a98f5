"""Issue 15: an incidental word naming a feature must not outrank the customer's problem."""

from __future__ import annotations

from pathlib import Path

from flask import Flask

from support.kb import index, language
from support.kb.index import schema
from tests.kb.conftest import write_article


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


def test_negated_words_are_what_a_negation_denies() -> None:
    text = "my parcel never arrived and the seller hasn't replied"
    assert language.negated_words(text) == ["arrived", "replied"]
    assert language.negation_text("Order not received") == "not_received"


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
