"""Knowledge-base relevance and speed on the real articles: hit@1, hit@3, MRR and latency.

Builds a Whoosh index of `kb_articles/` in a temporary folder, then ranks every
phrasing of `tests/kb/relevance_heldout.yaml` (never tuned on) and
`tests/kb/relevance_cases.yaml` (tuned on) with suggestions (`index.suggest`, the
ticket form) and search (`index.search`, the search box, its result cache bypassed
so every query is really run). Prints `name: value unit` lines, then the phrasings
not ranked first with what was ranked above them (`--misses`). Latency is given as
wall time and as CPU time (`time.process_time`), which a busy machine inflates less.

The held-out figures are printed for the whole set and, apart, for the phrasings of
each round that has a `round:` field (`heldout_r3`) and for those before it
(`heldout_r12`, the first 77), so a round is compared with itself. While tuning,
`--sets tuned` ranks the development set only and never shows a held-out figure.

    .venv/bin/python bench/kb_relevance.py [--misses] [--rounds 5] [--sets tuned]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import yaml
from flask import current_app

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from support import create_app  # noqa: E402
from support.kb import index  # noqa: E402
from support.kb.index import query as kb_query  # noqa: E402
from support.kb.index.store import live  # noqa: E402

SETS = {
    "heldout": ROOT / "tests" / "kb" / "relevance_heldout.yaml",
    "tuned": ROOT / "tests" / "kb" / "relevance_cases.yaml",
}


def suggested(text: str) -> list[str]:
    return [hit.slug for hit in index.suggest(text)]


def searched(text: str) -> list[str]:
    generation = live(current_app)
    return [hit.slug for hit in kb_query._search(generation, " ".join(text.split()), 10).hits]


def measure(
    name: str, cases: list[dict], rank, rounds: int, misses: bool
) -> tuple[list[float], list[float]]:
    """Prints the figures of `rank` on `cases`; returns (wall ms, CPU ms) per call."""
    ranked = [rank(case["text"]) for case in cases]
    places = [
        r.index(c["expect"]) + 1 if c["expect"] in r else None
        for c, r in zip(cases, ranked, strict=True)
    ]
    n = len(cases)
    print(f"kb_{name}_cases: {n} phrasings")
    print(f"kb_{name}_hit_at_1: {sum(p == 1 for p in places) / n:.3f}")
    print(f"kb_{name}_hit_at_3: {sum(bool(p) and p <= 3 for p in places) / n:.3f}")
    print(f"kb_{name}_mrr: {sum(1 / p for p in places if p) / n:.3f}")
    if misses:
        for case, place, slugs in zip(cases, places, ranked, strict=True):
            if place != 1:
                print(f"#   {place or '-'}  {case['expect']}: {case['text'][:70]!r} -> {slugs[:3]}")
    timings: list[float] = []
    cpu: list[float] = []
    for _ in range(rounds):
        for case in cases:
            started, cpu_started = time.perf_counter(), time.process_time()
            rank(case["text"])
            cpu.append((time.process_time() - cpu_started) * 1000)
            timings.append((time.perf_counter() - started) * 1000)
    return timings, cpu


def subsets(set_name: str, cases: list[dict]) -> dict[str, list[dict]]:
    """The set, plus (held out) its phrasings before any `round:` and those of each round."""
    named = {set_name: cases}
    rounds = sorted({case["round"] for case in cases if "round" in case})
    if rounds:
        earlier = "".join(str(n) for n in range(1, rounds[0]))
        named[f"{set_name}_r{earlier}"] = [case for case in cases if "round" not in case]
        for number in rounds:
            named[f"{set_name}_r{number}"] = [c for c in cases if c.get("round") == number]
    return named


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--misses", action="store_true", help="list the phrasings not ranked first")
    parser.add_argument("--rounds", type=int, default=5, help="timed passes over every set")
    parser.add_argument(
        "--sets",
        nargs="+",
        choices=sorted(SETS),
        default=list(SETS),
        help="which phrasings to rank (tune with 'tuned' alone)",
    )
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="kb-relevance-"))
    app = create_app(
        {
            "SUPPORT_ENV": "testing",
            "SECRET_KEY": "bench",
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{work / 'bench.db'}",
            "KB_INDEX_DIR": str(work / "kb_index"),
            "KB_CHECK_SECONDS": 3600,
        }
    )
    try:
        with app.app_context():
            index.rebuild(app)
            for kind, rank in (("suggest", suggested), ("search", searched)):
                timings: list[float] = []
                cpu: list[float] = []
                for set_name in args.sets:
                    cases = yaml.safe_load(SETS[set_name].read_text("utf-8"))
                    for part, part_cases in subsets(set_name, cases).items():
                        # Each phrasing is timed and listed once, with its whole set.
                        whole = part == set_name
                        wall, used = measure(
                            f"{part}_{kind}",
                            part_cases,
                            rank,
                            args.rounds if whole else 0,
                            args.misses and whole,
                        )
                        timings += wall
                        cpu += used
                if not timings:  # --rounds 0: figures only
                    continue
                print(f"kb_{kind}_latency_median: {statistics.median(timings):.2f} ms")
                print(f"kb_{kind}_latency_p95: {statistics.quantiles(timings, n=100)[94]:.2f} ms")
                # CPU time is what a loaded machine does not inflate.
                print(f"kb_{kind}_cpu_median: {statistics.median(cpu):.2f} ms")
                print(f"kb_{kind}_cpu_p95: {statistics.quantiles(cpu, n=100)[94]:.2f} ms")
    finally:
        index.close(app)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
