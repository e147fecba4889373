"""The simulated recipients answer the outbox: provider-shaped events that ingestion lands."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pandas as pd

from retention.ingest import ingest_day
from retention.paths import DataDir
from retention.store_simulator.responses import ResponseRates, outbox_files, read_outbox, write_responses

SENT_AT = datetime(2025, 3, 10, 23, 50, tzinfo=UTC)


def _outbox(root):
    email = root / "outbox" / "email"
    sms = root / "outbox" / "sms"
    email.mkdir(parents=True)
    sms.mkdir(parents=True)
    people = [{"to": [{"email": f"p{i}@example.com"}], "custom_args": {"campaign": "win_back", "step": "1",
                                                                      "send_id": f"s{i}"}} for i in range(400)]
    (email / "b1.json").write_text(json.dumps({"personalizations": people, "template_id": "d-x"}))
    (email / ".b2.json.tmp").write_text("{not json")  # a write in progress is not read
    (sms / "b3.json").write_text(json.dumps([{"send_id": f"t{i}", "form": {"To": f"+1555000{i:04d}", "Body": "hi"}}
                                             for i in range(50)]))
    return DataDir(root)


def test_answers_land_as_provider_events(tmp_path):
    data_dir = _outbox(tmp_path)
    messages = read_outbox(outbox_files(data_dir.outbox), SENT_AT)
    assert len(messages) == 450
    counts = write_responses(data_dir, messages, seed=1, rates=ResponseRates(email_open=0.5))
    # events after 23:50 spill into the next day's delivery: both days land
    days = sorted(p.name for p in (data_dir.inbox / "sendgrid").iterdir())
    assert days[0] == "2025-03-10"
    landed = 0
    for day in days:
        landed += ingest_day(data_dir, "sendgrid", date.fromisoformat(day)).tables["events"].landed
    assert landed == counts["email_events"]
    events = pd.concat(pd.read_parquet(p) for p in (data_dir.landing / "sendgrid" / "events").rglob("*.parquet"))
    assert set(events["send_id"]) <= {f"s{i}" for i in range(400)}
    kinds = events["event"].value_counts()
    assert kinds["processed"] == 400
    assert 0.35 < kinds["open"] / kinds["delivered"] < 0.65  # the rate asked for
    assert "bounce" in kinds
    report = ingest_day(data_dir, "twilio", SENT_AT.date())
    assert report.tables["message_status"].landed == 150 == counts["sms_callbacks"]


def test_answering_twice_changes_nothing(tmp_path):
    data_dir = _outbox(tmp_path)
    messages = read_outbox(outbox_files(data_dir.outbox), SENT_AT)
    write_responses(data_dir, messages, seed=1)
    first = {p: p.read_bytes() for p in data_dir.inbox.rglob("*") if p.is_file()}
    write_responses(data_dir, messages, seed=1)
    assert {p: p.read_bytes() for p in data_dir.inbox.rglob("*") if p.is_file()} == first
