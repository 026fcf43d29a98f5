"""Which category a ticket is about, from its words: a small multinomial naive Bayes.

Pure Python, no Whoosh: the knowledge base's index ranks articles, this names a
category, and a trained classifier measured better on the held-out set
(`tests/triage/heldout.yaml`) than the nearest articles did.

Trained on `training.yaml` beside this file (tickets as customers write them),
the knowledge-base articles' titles, tags and summaries, and agents'
corrections (`CategoryCorrection` rows). The model is built once per process
and rebuilt when a correction is added.

It answers "not sure" (None) rather than guess: when the best category's
probability is under `THRESHOLD`, when too few of the words are ones it knows
(another language), or when the text is mostly not words (pasted logs).
"""

from __future__ import annotations

import itertools
import math
import re
import threading
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import yaml

from support.kb import articles as kb_articles
from support.kb.language import CONVERSATION_WORDS

TRAINING_FILE = Path(__file__).with_name("training.yaml")
KB_DIR = Path(__file__).resolve().parents[2] / "kb_articles"

# Tuned by cross-validation on training.yaml only (never on the held-out set).
THRESHOLD = 0.5  # cross-validated on training.yaml: 0.87 accuracy, 78% answered
ALPHA = 0.2  # Laplace smoothing
# Posteriors of naive Bayes are overconfident on long texts: the log-likelihoods
# are divided by the number of features to this power before the softmax.
LENGTH_POWER = 0.5
MIN_KNOWN = 1  # known features needed before anything is suggested
MIN_KNOWN_SHARE = 0.35  # of the words, to tell another language from ours
MIN_WORD_SHARE = 0.45  # of the whitespace tokens that are plain words (logs are not)
MAX_CHARS = 4000  # the start of a long text says what it is about; 1 MB of logs costs nothing
KB_WEIGHT = 1.0
CORRECTION_WEIGHT = 2.0  # an agent's correction is worth more than one example

_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?", re.UNICODE)
_STOP = CONVERSATION_WORDS | frozenset(
    """
    a an the and or of to in on at for with from by is are be it its this that as if not
    can will my your you we us our me i am was have has had do does did
    """.split()  # noqa: SIM905
)
# Contractions customers write without the apostrophe keep their meaning.
_NEGATIONS = {"can't": "cant", "cannot": "cant", "won't": "wont", "don't": "dont"}
_SUFFIXES = ("ations", "ation", "ings", "ing", "ies", "ied", "ers", "er", "ed", "es", "ly", "s")


def stem(word: str) -> str:
    """A light suffix stripper: enough to join "charged", "charges" and "charge"."""
    if len(word) <= 4:
        return word
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            base = word[: -len(suffix)]
            if suffix in ("ies", "ied"):
                return base + "y"
            return base
    return word


def words(text: str) -> list[str]:
    return _WORD.findall(text[:MAX_CHARS].lower())


def features(text: str) -> list[str]:
    """Stemmed words without the filler, plus adjacent pairs ("charg twice")."""
    stems = []
    for word in words(text):
        word = _NEGATIONS.get(word, word)
        if word in ("cant", "wont", "dont"):
            stems.append(word)
        elif word not in _STOP and len(word) > 1:
            stems.append(stem(word))
    return stems + [f"{a} {b}" for a, b in itertools.pairwise(stems)]


def word_share(text: str) -> float:
    """Share of whitespace-separated tokens that are plain words (low for logs)."""
    tokens = text[:MAX_CHARS].split()
    if not tokens:
        return 0.0
    plain = sum(1 for t in tokens if re.fullmatch(r"[^\W\d_]+[.,!?;:'\"()]*", t, re.UNICODE))
    return plain / len(tokens)


@dataclass(frozen=True)
class Suggestion:
    category: str | None  # a category slug, or None: not sure
    confidence: float  # the best category's probability (0 for no text)
    best: str | None  # the best guess, even when not confident enough to suggest it
    reason: str

    @property
    def confident(self) -> bool:
        return self.category is not None


class Model:
    def __init__(self, examples: list[tuple[str, str, float]]) -> None:
        self.counts: dict[str, Counter[str]] = {}
        self.docs: Counter[str] = Counter()
        for category, text, weight in examples:
            counter = self.counts.setdefault(category, Counter())
            for feature in features(text):
                counter[feature] += weight
            self.docs[category] += weight
        self.vocab = set().union(*self.counts.values()) if self.counts else set()
        total_docs = sum(self.docs.values()) or 1
        self.prior = {c: math.log(n / total_docs) for c, n in self.docs.items()}
        vocab_size = len(self.vocab) or 1
        self.denominator = {
            c: math.log(sum(counter.values()) + ALPHA * vocab_size)
            for c, counter in self.counts.items()
        }

    def probabilities(self, feats: list[str]) -> dict[str, float]:
        known = [f for f in feats if f in self.vocab]
        scale = 1 / max(len(known), 1) ** LENGTH_POWER
        scores = {}
        for category, counter in self.counts.items():
            loglik = sum(math.log(counter.get(f, 0) + ALPHA) for f in known)
            loglik -= len(known) * self.denominator[category]
            scores[category] = self.prior[category] + loglik * scale
        top = max(scores.values())
        exp = {c: math.exp(s - top) for c, s in scores.items()}
        total = sum(exp.values())
        return {c: v / total for c, v in exp.items()}

    def suggest(self, text: str, threshold: float = THRESHOLD) -> Suggestion:
        if not text.strip():
            return Suggestion(None, 0.0, None, "no text to go on")
        if word_share(text) < MIN_WORD_SHARE:
            return Suggestion(None, 0.0, None, "mostly not words (logs or codes)")
        feats = features(text)
        unigrams = [f for f in feats if " " not in f]
        known = [f for f in unigrams if f in self.vocab]
        if len(known) < MIN_KNOWN or len(known) < MIN_KNOWN_SHARE * len(unigrams):
            return Suggestion(None, 0.0, None, "too few words we know (another language?)")
        probabilities = self.probabilities(feats)
        best = max(probabilities, key=lambda c: (probabilities[c], c))
        confidence = probabilities[best]
        if confidence < threshold:
            return Suggestion(None, confidence, best, f"confidence {confidence:.2f} is too low")
        return Suggestion(best, confidence, best, f"confidence {confidence:.2f}")


def training_examples() -> list[tuple[str, str, float]]:
    """The labelled tickets and the knowledge base's articles (title, tags, summary)."""
    examples: list[tuple[str, str, float]] = []
    data = yaml.safe_load(TRAINING_FILE.read_text(encoding="utf-8"))
    for category, texts in data.items():
        examples.extend((category, text, 1.0) for text in texts)
    known = set(data)
    for path in kb_articles.article_files(KB_DIR):
        article = kb_articles.parse_file(path)
        if isinstance(article, kb_articles.Article) and article.category in known:
            text = " ".join([article.title, *article.tags, article.summary])
            examples.append((article.category, text, KB_WEIGHT))
    return examples


_lock = threading.Lock()
_cache: dict[object, Model] = {}


def model(corrections: tuple[tuple[str, str], ...] = (), key: object = None) -> Model:
    """The trained model; `key` names the corrections' state (rebuilt when it changes)."""
    with _lock:
        cached = _cache.get(key)
        if cached is None:
            examples = training_examples()
            examples += [(category, text, CORRECTION_WEIGHT) for category, text in corrections]
            cached = Model(examples)
            _cache.clear()
            _cache[key] = cached
        return cached


def forget() -> None:
    with _lock:
        _cache.clear()
