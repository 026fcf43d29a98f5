"""The category suggester on tickets it never saw (heldout.yaml): accuracy, coverage, confusion.

Run with `-s` to see the figures:
    .venv/bin/pytest -s tests/triage/test_suggest_accuracy.py
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import yaml

from support.triage import suggest

HELDOUT = Path(__file__).with_name("heldout.yaml")
NOT_SURE = "(not sure)"


def _cases() -> list[dict]:
    return yaml.safe_load(HELDOUT.read_text(encoding="utf-8"))


def measure(model: suggest.Model, cases: list[dict] | None = None) -> dict:
    cases = _cases() if cases is None else cases
    confusion: Counter[tuple[str, str]] = Counter()
    answered = right = 0
    labelled = [c for c in cases if c["expected"] is not None]
    for case in cases:
        got = model.suggest(case["text"]).category
        confusion[(case["expected"] or NOT_SURE, got or NOT_SURE)] += 1
        if case["expected"] is not None and got is not None:
            answered += 1
            right += got == case["expected"]
    unlabelled = [c for c in cases if c["expected"] is None]
    wrongly_sure = sum(n for (e, g), n in confusion.items() if e == NOT_SURE and g != NOT_SURE)
    return {
        "cases": len(cases),
        "accuracy": right / answered if answered else 0.0,
        "coverage": answered / len(labelled) if labelled else 0.0,
        "not_sure_kept": 1 - wrongly_sure / len(unlabelled) if unlabelled else 1.0,
        "confusion": confusion,
    }


def confusion_table(confusion: Counter[tuple[str, str]]) -> str:
    labels = [*sorted({e for e, _ in confusion} - {NOT_SURE}), NOT_SURE]
    short = {label: label[:8] for label in labels}
    lines = ["expected \\ got " + " ".join(f"{short[g]:>8}" for g in labels)]
    for expected in labels:
        row = " ".join(f"{confusion[(expected, got)]:>8}" for got in labels)
        lines.append(f"{expected:<15}{row}")
    return "\n".join(lines)


NEAR = 0.6  # word overlap at which a held-out ticket counts as a paraphrase of a training text
LONG = 400  # characters: a long ticket, subject and several sentences


def content_words(text: str) -> set[str]:
    """The suggester's own view of a text's words: stemmed, without the filler."""
    return {f for f in suggest.features(text) if " " not in f}


def overlap(heldout: str, training: str, *, containment: bool) -> float:
    """Shared words over all words of both (Jaccard); with `containment`, also the share
    of the held-out ticket's words found in the training text (when it has 3 or more)."""
    mine, theirs = content_words(heldout), content_words(training)
    if not mine or not theirs:
        return 0.0
    shared = len(mine & theirs)
    ratio = shared / len(mine | theirs)
    if containment and len(mine) >= 3:
        ratio = max(ratio, shared / len(mine))
    return ratio


def near_duplicates(cases: list[dict]) -> list[tuple[str, str, float]]:
    """Held-out tickets too close to something the suggester trains on. Training tickets
    are compared both ways; the knowledge-base texts (title, tags, summary: keyword lists)
    by Jaccard only, as any short ticket uses some of its topic's keywords."""
    training = yaml.safe_load(suggest.TRAINING_FILE.read_text(encoding="utf-8"))
    lines = [text for texts in training.values() for text in texts]
    kb = [text for _, text, weight in suggest.training_examples()[len(lines) :]]
    found = []
    for case in cases:
        scored = [(overlap(case["text"], t, containment=True), t) for t in lines]
        scored += [(overlap(case["text"], t, containment=False), t) for t in kb]
        score, closest = max(scored)
        if score >= NEAR:
            found.append((case["text"], closest, score))
    return found


def test_the_held_out_set_is_big_varied_and_unseen() -> None:
    cases = _cases()
    assert len(cases) >= 150
    categories = Counter(c["expected"] for c in cases)
    assert {k for k in categories if k} == {
        "accounts",
        "listings",
        "orders",
        "payments",
        "refunds",
        "shipping",
        "privacy",
        "security",
    }
    long = Counter(c["expected"] for c in cases if len(c["text"]) >= LONG and c["expected"])
    assert sum(long.values()) >= 25 and set(long) == set(categories) - {None}
    training = yaml.safe_load(suggest.TRAINING_FILE.read_text(encoding="utf-8"))
    seen = {text.strip().lower() for texts in training.values() for text in texts}
    assert sum(len(t) for t in training.values()) >= 200
    assert not [c["text"] for c in cases if c["text"].strip().lower() in seen]
    assert near_duplicates(cases) == []


def test_the_near_duplicate_check_catches_paraphrases() -> None:
    line = "courier lost my package, what now"
    assert overlap("courier lost the package", line, containment=True) >= NEAR
    assert overlap("Courier lost my package!! what now??", line, containment=False) >= NEAR
    assert overlap("the courier says my parcel went missing", line, containment=True) < NEAR


def test_accuracy_on_held_out_tickets() -> None:
    model = suggest.Model(suggest.training_examples())
    figures = measure(model)
    long = measure(model, [c for c in _cases() if len(c["text"]) >= LONG])
    print()
    print(f"held-out tickets: {figures['cases']}")
    print(f"accuracy (on the ones it answers): {figures['accuracy']:.3f}")
    print(f"coverage (labelled tickets answered): {figures['coverage']:.3f}")
    print(f"'not sure' kept for other languages and logs: {figures['not_sure_kept']:.3f}")
    print(
        f"long tickets ({long['cases']}, {LONG}+ characters): "
        f"accuracy {long['accuracy']:.3f}, coverage {long['coverage']:.3f}"
    )
    print(confusion_table(figures["confusion"]))
    assert figures["accuracy"] >= 0.85
    assert long["accuracy"] >= 0.85
    assert figures["coverage"] >= 0.6
    assert figures["not_sure_kept"] >= 0.9


def test_bad_input_is_not_sure_and_cheap() -> None:
    model = suggest.Model(suggest.training_examples())
    assert model.suggest("").category is None
    assert model.suggest("   \n ").category is None
    logs = "2026-11-20T10:14:03Z ERROR payment worker 0x7f3a timeout=30000ms status=504\n" * 15_000
    assert len(logs) > 1_000_000
    assert model.suggest(logs).category is None
    assert model.suggest("Je ne peux pas me connecter à mon compte").category is None
