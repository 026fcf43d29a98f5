"""Every real message in ../shared/mail-samples/ (other projects' test mail) is filed or
quarantined with a reason: never an exception, never lost. Skipped where the folder is
absent (a clean clone); MAIL_SAMPLES_DIR points elsewhere."""

from __future__ import annotations

import csv
import os
from pathlib import Path

import pytest

from support.extensions import db
from support.mail.inbound import intake
from support.models import InboundMessage, InboundStatus, Outcome

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = Path(os.environ.get("MAIL_SAMPLES_DIR") or ROOT.parent / "shared" / "mail-samples")


def _messages() -> list[Path]:
    manifest = SAMPLES / "MANIFEST.tsv"
    if not manifest.is_file():
        return []
    with manifest.open(newline="") as rows:
        return [
            SAMPLES / row["path"]
            for row in csv.DictReader(rows, delimiter="\t")
            if row["kind"].startswith("message")
        ]


@pytest.mark.skipif(not _messages(), reason=f"no mail samples at {SAMPLES}")
def test_every_sample_is_filed_or_quarantined_with_a_reason(app) -> None:
    paths = _messages()
    ids = [intake.store(path.read_bytes(), "pipe").id for path in paths]
    outcomes = {}
    for path, inbound_id in zip(paths, ids, strict=True):
        outcomes[path.name] = intake.file_message(inbound_id)
    db.session.expire_all()
    for path, inbound_id in zip(paths, ids, strict=True):
        row = db.session.get(InboundMessage, inbound_id)
        assert row.status in (InboundStatus.FILED, InboundStatus.QUARANTINED), path
        if row.status == InboundStatus.QUARANTINED:
            assert row.reason and not row.reason.startswith("could not be filed"), (
                path,
                row.reason,
            )
        else:
            assert row.outcome != Outcome.QUARANTINED
    assert Outcome.NEW in outcomes.values()
