"""Triage on filing: suggestion + priority + routing per ticket (issue 6: median under 20 ms).

Seeds 8 teams (one per category) with 20 tier-1 agents and 2,000 open tickets
already assigned, then times `support.triage`'s three decisions for 500 held-out
ticket texts filed as "Not sure" (the suggester runs every time), after a warm-up.
Prints the held-out accuracy and coverage too.

    .venv/bin/python bench/triage.py [--tickets 500]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import bench_app, p95
from support.extensions import db
from support.models import Category, Impact, Role, Status, Team, Ticket, User
from support.triage import preview, suggest

ROOT = Path(__file__).resolve().parent.parent
HELDOUT = ROOT / "tests" / "triage" / "heldout.yaml"


def seed() -> None:
    categories = list(db.session.scalars(db.select(Category)))
    agents = []
    for n, category in enumerate(categories):
        team = Team(name=f"Team {category.name}")
        db.session.add(team)
        db.session.flush()
        category.team_id = team.id
        for k in range(20 if n == 0 else 3):
            agent = User(
                email=f"agent{n}-{k}@example.com",
                name=f"Agent {n}-{k}",
                password_hash="x",
                role=Role.AGENT,
                tier=1,
                team_id=team.id,
            )
            db.session.add(agent)
            agents.append((agent, category))
    customer = User(email="c@example.com", name="Customer", password_hash="x")
    db.session.add(customer)
    db.session.flush()
    for i in range(2000):
        agent, category = agents[i % len(agents)]
        db.session.add(
            Ticket(
                ref=f"SUP-B{i:05d}",
                subject="Seeded",
                description="seeded",
                customer_id=customer.id,
                category_id=category.id,
                team_id=agent.team_id,
                assignee_id=agent.id,
                status=Status.OPEN,
            )
        )
    db.session.commit()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tickets", type=int, default=500)
    args = parser.parse_args()
    cases = yaml.safe_load(HELDOUT.read_text(encoding="utf-8"))
    app, _tmp = bench_app()
    with app.app_context():
        seed()
        texts = [c["text"] for c in cases]
        for text in texts[:20]:  # warm-up: the model is trained on first use
            preview("", text, Impact.JUST_ME)
        samples = []
        for n in range(args.tickets):
            text = texts[n % len(texts)]
            start = time.perf_counter()
            preview("", text, Impact.JUST_ME)
            samples.append((time.perf_counter() - start) * 1000)
        print(f"triage_median: {statistics.median(samples):.2f} ms")
        print(f"triage_p95: {p95(samples):.2f} ms")
        model = suggest.Model(suggest.training_examples())
        answered = right = 0
        labelled = [c for c in cases if c["expected"]]
        for case in labelled:
            got = model.suggest(case["text"]).category
            if got:
                answered += 1
                right += got == case["expected"]
        print(f"triage_heldout_accuracy: {right / answered:.3f} ratio")
        print(f"triage_heldout_coverage: {answered / len(labelled):.3f} ratio")


if __name__ == "__main__":
    main()
