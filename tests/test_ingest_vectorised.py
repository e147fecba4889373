"""The whole-file typing of JSON Lines and SendGrid files lands exactly what the per-record path
lands: the same rows in the same order, the same warnings, the same rejects with the same reasons."""

from __future__ import annotations

from datetime import UTC, date, datetime

import orjson
import pytest

from retention.ingest import parse_files
from retention.ingest.day import inbox_files
from retention.ingest.vectorised import timestamp
from retention.paths import DataDir
from retention.store_simulator import SimConfig, simulate

AT = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
START, END = date(2025, 11, 1), date(2025, 11, 6)
SOURCES = ("web", "reviews", "nps", "sendgrid")

# Lines the simulator does not write, each one of the per-record path's judgements.
PLANTED_WEB = [
    b"not json at all",
    b"[1, 2, 3]",
    b'{"event_id": "p1", "session_id": "s", "occurred_at": "2025-11-03T10:00:00", "event_type": "search"}',
    b'{"event_id": "p2", "session_id": "s", "occurred_at": "2025-02-30T10:00:00Z", "event_type": "search"}',
    b'{"event_id": "p3", "session_id": "s", "occurred_at": "2025-11-03T10:00:00Z", "event_type": "search", '
    b'"url": 42, "customer_id": true}',
    b'{"event_id": 7, "session_id": "s", "occurred_at": "2025-11-03T10:00:00.5+05:30", "event_type": "share"}',
    b'{"event_id": "p4", "session_id": "s", "occurred_at": "2025-11-03T10:00:00Z", "event_type": "click"}',
    b'{"event_id": "p5", "session_id": "s", "occurred_at": "2025-11-03T10:00:00Z", "event_type": "page_view", '
    b'"product_id": 99999999999999999999}',
    b"   ",
    b'{"event_id": "", "session_id": "s", "occurred_at": "2025-11-03T10:00:00Z", "event_type": "page_view"}',
]

REVIEW = (b'{"review_id": "r%d", "product_id": 7, "customer_id": 3, "email": "a@example.com", "order_id": 9, '
          b'"rating": %s, "title": "Good", "body": "Fits", "verified_buyer": %s, "created_at": "2025-11-04T10:00:00Z"}')
NPS = (b'{"response_id": "n%d", "survey_id": %s, "customer_id": 3, "email": "a@example.com", "order_id": 9, '
       b'"score": %s, "comment": "fine", "submitted_at": "2025-11-04T10:00:00+02:00"}')
EVENT = {"email": "a@example.com", "timestamp": 1762732884, "event": "delivered", "sg_event_id": "e0",
         "category": ["promo"], "campaign": "win_back", "step": 1, "smtp-id": "<x@y>"}
PLANTED_EVENTS = [
    EVENT, {**EVENT, "event": "Open", "timestamp": 1762732884123, "pool": {"name": "p"}, "tls": 1},
    {**EVENT, "event": "account_status_change", "type": "suspended"}, {**EVENT, "timestamp": "yesterday"},
    {**EVENT, "email": None}, {**EVENT, "category": "one"}, {**EVENT, "category": [1, None]}, {**EVENT, "step": 1.5},
    {**EVENT, "send_at": 0, "asm_group_id": 5, "marketing_campaign_id": True}, "not an object",
    {**EVENT, "event": "ÉVÉNEMENT"}, {**EVENT, "sg_template_id": "t1", "custom": {"nested": [1]}},
    {**EVENT, "timestamp": -5}, {**EVENT, "send_at": 1762732884, "tls": "1"},
]
PLANTED = {
    "reviews": [REVIEW % (i, rating, verified) for i, (rating, verified) in enumerate(
        [(b"4", b"true"), (b"5", b"null"), (b"6", b"true"), (b'"4"', b"false"), (b"3", b'"true"'), (b"2.0", b"true"),
         (b"1", b"false"), (b"true", b"true")])],
    "nps": [NPS % (i, survey, score) for i, (survey, score) in enumerate(
        [(b'"s1"', b"9"), (b"null", b"0"), (b"12", b"10"), (b'"s1"', b"11"), (b'" "', b"7"), (b'"s1"', b"-1"),
         (b'"s1"', b"8")])],
}


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> DataDir:
    """A tiny simulated store (it plants bad records of its own), plus the records above: in one of its
    web files, and as review, NPS and SendGrid files of their own."""
    root = tmp_path_factory.mktemp("vectorised")
    simulate(SimConfig(customers=150, start=START, end=END, seed=11, workers=1), root)
    layout = DataDir(root)
    web_file = inbox_files(layout, "web", date(2025, 11, 3))[0][0]
    lines = web_file.read_bytes().split(b"\n")
    middle = len(lines) // 2
    web_file.write_bytes(b"\n".join(lines[:middle] + PLANTED_WEB + lines[middle:]))
    for source, planted in PLANTED.items():
        folder = layout.inbox_day(source, date(2025, 11, 4))
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "planted.jsonl").write_bytes(b"\r\n".join(planted) + b"\n")
    (layout.inbox_day("sendgrid", date(2025, 11, 4)) / "planted.json").write_bytes(orjson.dumps(PLANTED_EVENTS))
    return layout


def both_paths(layout: DataDir, source: str):
    files = [f for day in range(START.day, END.day + 1)
             for f in inbox_files(layout, source, date(2025, 11, day))[0]]
    return [parse_files(source, files, layout.inbox, AT, vectorised=v) for v in (False, True)]


@pytest.mark.parametrize("source", SOURCES)
def test_whole_file_typing_lands_what_the_per_record_path_lands(store, source):
    one_by_one, whole = both_paths(store, source)
    for table, expected in one_by_one.tables.items():
        assert whole.tables[table].schema == expected.schema
        assert whole.tables[table].combine_chunks().equals(expected.combine_chunks()), table
        assert expected.num_rows > 0
    assert whole.quarantine.equals(one_by_one.quarantine)
    assert whole.counts == one_by_one.counts
    assert whole.warnings == one_by_one.warnings and whole.reasons == one_by_one.reasons
    for counts in whole.counts.values():
        assert counts.records_in == counts.landed + counts.quarantined


def test_planted_lines_are_judged_one_by_one_in_their_place(store):
    _, whole = both_paths(store, "web")
    events = whole.tables["events"]
    # every bad line quarantined alone, with its reason; its neighbours landed around it, in file order
    reasons = whole.quarantine.column("reason").to_pylist()
    for planted in ("not valid JSON", "not a JSON object", "timestamp without UTC offset", "event_type",
                    "invalid timestamp", "event_id: empty"):
        assert any(planted in r for r in reasons), planted
    by_file: dict[str, list[int]] = {}
    for path, index in zip(events.column("_source_file").to_pylist(), events.column("_record_index").to_pylist(),
                           strict=True):
        by_file.setdefault(path, []).append(index)
    assert all(indexes == sorted(indexes) for indexes in by_file.values())
    # lenient values the per-record path types differently land as it types them (42 -> "42", true -> warning)
    p3, p5 = (events.filter(events.column("event_id").to_numpy(zero_copy_only=False) == i).to_pylist()[0]
              for i in ("p3", "p5"))
    assert p3["url"] == "42" and p3["customer_id"] is None and p3["_warnings"]
    assert p5["product_id"] is None and "not a 64-bit integer" in p5["_warnings"][0]
    # an integer id is text, a fractional offset time is UTC
    seven = events.filter(events.column("event_id").to_numpy(zero_copy_only=False) == "7").to_pylist()
    assert seven[0]["occurred_at"] == datetime(2025, 11, 3, 4, 30, 0, 500000, tzinfo=UTC)


def test_the_time_check_admits_only_what_both_parsers_read_alike():
    kind = timestamp(required=True)
    assert kind.clean_rows(["2025-11-03T10:00:00Z", "2025-11-03T10:00:00.123456-04:00"]) == [True, True]
    assert kind.clean_rows(["2025-11-03T10:00:00", "2025-11-03 10:00:00Z", "2025-11-03T24:00:00Z",
                            "2025-11-03T10:00:00.1234567Z", "", None, 1700000000]) == [False] * 7
