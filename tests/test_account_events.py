"""Provider account events: SendGrid's ``account_status_change`` lands in its own table (it names
no recipient, so it is no quarantined event), and a suspension pauses the email channel until an
event says the account is active again."""

from __future__ import annotations

import json
from datetime import date

import pyarrow.parquet as pq

from retention.activation.accounts import account_states, paused_channels
from retention.ingest import ingest_day
from retention.paths import DataDir

DAY, NEXT, LATER = date(2026, 3, 14), date(2026, 3, 15), date(2026, 3, 16)
# The shape of the Event Webhook reference's account event (docs: "Account status change events").
SUSPEND = {"event": "account_status_change", "sg_event_id": "acct-1", "timestamp": 1773480000,
           "type": "compliance_suspend"}
DELIVERED = {"email": "a@example.com", "timestamp": 1773480100, "event": "delivered", "sg_event_id": "ev-1",
             "sg_message_id": "m-1"}


def drop(data: DataDir, day: date, name: str, events: list[dict]) -> None:
    folder = data.inbox_day("sendgrid", day)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(json.dumps(events))


def test_an_account_event_lands_in_its_own_table_beside_the_recipients_events(tmp_path):
    data = DataDir(tmp_path)
    drop(data, DAY, "body.json", [DELIVERED, SUSPEND])
    report = ingest_day(data, "sendgrid", DAY)
    events, accounts = report.tables["events"], report.tables["account_events"]
    assert (events.records_in, events.landed, events.quarantined) == (1, 1, 0)
    assert (accounts.records_in, accounts.landed, accounts.quarantined) == (1, 1, 0)


def test_an_account_event_without_its_type_is_quarantined_with_the_reason(tmp_path):
    data = DataDir(tmp_path)
    drop(data, DAY, "body.json", [{k: v for k, v in SUSPEND.items() if k != "type"}, DELIVERED])
    report = ingest_day(data, "sendgrid", DAY)
    assert report.tables["account_events"].quarantined == 1
    assert report.tables["events"].landed == 1  # its neighbour is untouched
    reasons = _quarantine_reasons(data)
    assert any("type" in r for r in reasons), reasons


def test_a_suspension_pauses_email_until_the_account_is_reactivated(tmp_path):
    data = DataDir(tmp_path)
    assert paused_channels(data) == {}  # nothing landed: nothing paused
    drop(data, DAY, "body.json", [SUSPEND])
    ingest_day(data, "sendgrid", DAY)
    paused = paused_channels(data)
    assert list(paused) == ["email"]
    assert "sendgrid account compliance_suspend since 2026-03-14" in paused["email"]

    drop(data, NEXT, "body.json", [{**SUSPEND, "sg_event_id": "acct-2", "timestamp": 1773566400,
                                    "type": "compliance_reactivate"}])
    ingest_day(data, "sendgrid", NEXT)
    assert paused_channels(data) == {}


def test_an_unknown_account_event_type_changes_nothing_and_is_reported(tmp_path):
    data = DataDir(tmp_path)
    drop(data, DAY, "body.json", [SUSPEND])
    ingest_day(data, "sendgrid", DAY)
    drop(data, NEXT, "body.json", [{**SUSPEND, "sg_event_id": "acct-2", "timestamp": 1773566400,
                                    "type": "compliance_review"}])
    ingest_day(data, "sendgrid", NEXT)
    state = account_states(data)["sendgrid"]
    assert state.paused and state.type == "compliance_suspend"
    assert state.unknown == ("compliance_review",)


def test_the_latest_event_decides_whatever_the_day_it_landed(tmp_path):
    data = DataDir(tmp_path)
    # the reactivation arrives first (a webhook retried late delivers the suspension a day after)
    drop(data, DAY, "body.json", [{**SUSPEND, "sg_event_id": "acct-2", "timestamp": 1773566400,
                                   "type": "compliance_reactivate"}])
    ingest_day(data, "sendgrid", DAY)
    drop(data, LATER, "body.json", [SUSPEND])
    ingest_day(data, "sendgrid", LATER)
    assert paused_channels(data) == {}


def _quarantine_reasons(data: DataDir) -> list[str]:
    reasons = []
    for path in (data.quarantine / "sendgrid" / "account_events").rglob("*.parquet"):
        table = pq.read_table(path)
        column = next(c for c in table.column_names if "reason" in c)
        reasons += [str(v) for v in table[column].to_pylist()]
    return reasons
