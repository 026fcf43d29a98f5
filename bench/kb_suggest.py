"""Knowledge-base suggestions with 5,000 articles (SPEC §9: p95 under 25 ms).

Generates 5,000 varied articles from the vocabulary of the real ones into a
temporary folder, builds the index, then sends 500 `/kb/suggest` requests
with realistic ticket text through the Flask test client (after a warm-up).

    .venv/bin/python bench/kb_suggest.py [--articles 5000] [--requests 500]

Prints one `name: value unit` per line. Everything it creates is removed.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from support import create_app  # noqa: E402
from support.kb import articles, index  # noqa: E402

SEED = 20261123
ITEMS = [
    "lamp", "jacket", "bike", "camera", "phone case", "sofa", "vinyl record", "watch",
    "laptop", "pair of trainers", "desk", "guitar", "coat", "headphones", "mirror",
    "board game", "printer", "handbag", "kettle", "tent",
]  # fmt: skip
VARIANTS = [
    "for sellers", "for buyers", "in the app", "on the website", "for business accounts",
    "abroad", "for new members", "step by step", "in Seller Hub", "on mobile",
    "for large items", "for collectors", "during sales events", "for local pickup",
]  # fmt: skip

# Ticket text the way customers write it: {item}, {amount}, {days}, {order}.
SUBJECTS = [
    "Refund not received for order {order}",
    "Charged twice for my {item}",
    "Parcel never arrived",
    "Can't log in to my account",
    "Card declined at checkout",
    "Item not as described",
    "Where is my package?",
    "Seller not responding",
    "Payout still on hold",
    "Account locked",
    "Wrong address on my order",
    "Customs fees on my {item}",
    "How do I cancel order {order}",
    "Listing removed",
    "Verification email never came",
]
DESCRIPTIONS = [
    "I bought a {item} {days} days ago and the seller refunded me but the money is still "
    "not back on my card. Order {order}, amount {amount} EUR. How long does a refund take?",
    "My bank statement shows two payments of {amount} EUR for one {item}. I only placed one "
    "order ({order}). Please refund the duplicate charge.",
    "Tracking says delivered {days} days ago but there was nothing at my door and the "
    "neighbours don't have it. The {item} cost {amount} EUR.",
    "I reset my password twice but the sign in page keeps saying my details are wrong. I "
    "also don't get the two-step code on my new phone.",
    "Every time I try to pay for the {item} the payment fails with 'transaction declined'. "
    "My card works everywhere else and has enough money.",
    "The {item} arrived broken and it looks nothing like the photos in the listing. The "
    "seller says no returns. I want my {amount} EUR back.",
    "The seller hasn't answered my messages for {days} days about order {order}. I'd like "
    "you to step in and open a dispute.",
    "I sold a {item} and the buyer received it {days} days ago, but my earnings still say "
    "on hold and nothing has reached my bank account.",
    "I got an email saying someone signed in from another country and now I can't get into "
    "my account. I think it was hacked.",
    "I moved house last week and the delivery address on order {order} is wrong. The seller "
    "hasn't shipped the {item} yet.",
    "The courier wants {amount} EUR import duty before delivering my {item}. Nobody told me "
    "about customs charges. Who pays this?",
    "I want to cancel order {order}, I bought the {item} by mistake and it hasn't shipped.",
    "My listing for a {item} was taken down by moderation and I don't know which rule it "
    "broke. How can I appeal?",
    "The verification email never arrived, I checked spam. The link in the old one has expired.",
    "I'd like to return the {item}, it doesn't fit. Who pays the return postage and how do "
    "I print the return label?",
]


def _paragraphs(article: articles.Article) -> list[str]:
    return [p for p in re.split(r"\n(?=[A-Z])", article.text) if len(p.split()) > 6]


def generate(target: Path, count: int, rng: random.Random) -> None:
    """`count` articles built from the real ones' titles, tags and paragraphs."""
    library = articles.load(ROOT / "kb_articles")
    real = list(library.articles.values())
    shutil.copy(ROOT / "kb_articles" / articles.CATEGORIES_FILE, target)
    all_tags = sorted({t for a in real for t in a.tags})
    pool = {a.slug: _paragraphs(a) for a in real}
    everything = [p for paras in pool.values() for p in paras]
    for n in range(count):
        base = rng.choice(real)
        item = rng.choice(ITEMS)
        title = f"{base.title} {rng.choice(VARIANTS)}" + (f": {item}" if n % 3 == 0 else "")
        tags = rng.sample(base.tags, min(3, len(base.tags))) + rng.sample(all_tags, 2) + [item]
        own = pool[base.slug]
        body = rng.sample(own, min(len(own), rng.randint(3, 6))) + rng.sample(
            everything, rng.randint(2, 5)
        )
        rng.shuffle(body)
        sections = "\n\n".join(f"## Part {i + 1}\n\n{p}" for i, p in enumerate(body))
        (target / f"{base.slug}-{n:05d}.md").write_text(
            "---\n"
            f"title: {title!r}\n"
            f"category: {base.category}\n"
            f"tags: [{', '.join(repr(t) for t in tags)}]\n"
            # Like real articles, each says which problems it solves (issue 15).
            f"problems: [{', '.join(repr(t) for t in base.problems[:4])}]\n"
            f"summary: {base.summary.replace('.', f' ({item}).', 1)!r}\n"
            "updated: 2026-11-01\n"
            f"---\n\n{sections}\n",
            encoding="utf-8",
        )


def ticket_texts(count: int, rng: random.Random) -> list[dict[str, str]]:
    texts = []
    for _ in range(count):
        fill = {
            "item": rng.choice(ITEMS),
            "amount": f"{rng.randint(5, 400)}.{rng.randint(0, 99):02d}",
            "days": rng.randint(2, 20),
            "order": f"#{rng.randint(10000, 99999)}",
        }
        texts.append(
            {
                "subject": rng.choice(SUBJECTS).format(**fill),
                "description": rng.choice(DESCRIPTIONS).format(**fill),
            }
        )
    return texts


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--articles", type=int, default=5000)
    parser.add_argument("--requests", type=int, default=500)
    args = parser.parse_args()
    rng = random.Random(SEED)
    work = Path(tempfile.mkdtemp(prefix="kb-bench-"))
    os.environ["INSTANCE_PATH"] = str(work / "instance")
    app = None
    try:
        (work / "articles").mkdir()
        generate(work / "articles", args.articles, rng)
        app = create_app(
            {
                "SUPPORT_ENV": "testing",
                "SECRET_KEY": "bench",
                "SQLALCHEMY_DATABASE_URI": f"sqlite:///{work / 'bench.db'}",
                "KB_ARTICLES_DIR": str(work / "articles"),
                "KB_INDEX_DIR": str(work / "instance" / "kb_index"),
                # The bench measures the endpoint, not the limiter (550 requests a minute).
                "RATELIMIT_ENABLED": False,
            }
        )
        started = time.perf_counter()
        report = index.rebuild(app)
        print(f"kb_index_build: {time.perf_counter() - started:.1f} s")
        print(f"kb_index_articles: {report.articles} articles")
        client = app.test_client()
        headers = {"HX-Request": "true"}
        for params in ticket_texts(50, random.Random(SEED + 1)):  # warm-up
            client.get("/kb/suggest", query_string=params, headers=headers)
        timings, cpu, shown = [], [], 0
        for params in ticket_texts(args.requests, rng):
            started, cpu_started = time.perf_counter(), time.process_time()
            response = client.get("/kb/suggest", query_string=params, headers=headers)
            cpu.append((time.process_time() - cpu_started) * 1000)
            timings.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, response.status_code
            shown += bool(response.data.strip())
        print(f"kb_suggest_requests: {len(timings)} requests")
        print(f"kb_suggest_with_results: {100 * shown / len(timings):.0f} %")
        print(f"kb_suggest_median: {statistics.median(timings):.1f} ms")
        print(f"kb_suggest_p95: {percentile(timings, 0.95):.1f} ms")
        # CPU time: what a machine shared with other work inflates less than wall time.
        print(f"kb_suggest_cpu_median: {statistics.median(cpu):.1f} ms")
        print(f"kb_suggest_cpu_p95: {percentile(cpu, 0.95):.1f} ms")
    finally:
        if app is not None:
            index.close(app)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
