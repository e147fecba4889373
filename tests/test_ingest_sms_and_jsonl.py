"""Twilio form lines (status callbacks, inbound STOP/START/HELP) and the JSONL sources."""

from __future__ import annotations

from datetime import UTC, date, datetime
from urllib.parse import urlencode

import orjson

from retention.ingest import ingest_day
from retention.ingest.twilio import normalise_keyword
from retention.paths import DataDir
from tests.fixtures import PROVIDER_FIXTURES

DAY = date(2026, 3, 14)
ACCOUNT = "AC" + "a" * 32


def status_line(sid: str, status: str, error_code: str = "", **extra) -> str:
    fields = {"ErrorCode": error_code, "SmsSid": sid, "SmsStatus": status, "MessageStatus": status,
              "To": "+15558675310", "MessageSid": sid, "AccountSid": ACCOUNT, "From": "+15017122661",
              "ApiVersion": "2010-04-01", **extra}
    return urlencode(fields)


def inbound_line(sid: str, body: str, **extra) -> str:
    fields = {"ToCountry": "US", "ToState": "CA", "SmsMessageSid": sid, "NumMedia": "0", "ToCity": "",
              "FromZip": "94105", "SmsSid": sid, "FromState": "CA", "SmsStatus": "received", "FromCity": "SAN FRANCISCO",
              "Body": body, "FromCountry": "US", "To": "+15017122661", "MessagingServiceSid": "MG" + "b" * 32,
              "ToZip": "", "NumSegments": "1", "MessageSid": sid, "AccountSid": ACCOUNT, "From": "+14155552345",
              "ApiVersion": "2010-04-01", **extra}
    return urlencode(fields)


def write_inbox(tmp_path, source: str, files: dict[str, str | bytes]) -> DataDir:
    data = DataDir(tmp_path / "data")
    folder = data.inbox_day(source, DAY)
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        (folder / name).write_bytes(content if isinstance(content, bytes) else content.encode())
    return data


def read(data: DataDir, source: str, table: str, zone: str = "landing") -> list[dict]:
    import pyarrow.parquet as pq

    partition = (data.landing_partition if zone == "landing" else data.quarantine_partition)(source, table, DAY)
    return pq.read_table(partition / "part-0.parquet").to_pylist()


def test_twilio_status_callbacks_and_inbound(tmp_path):
    status = "\n".join([
        status_line("SM" + "1" * 32, "sent"),
        status_line("SM" + "1" * 32, "delivered", RawDlrDoneDate="2603141215"),
        status_line("SM" + "2" * 32, "undelivered", "30003"),
    ]) + "\n"
    inbound = "\r\n".join([
        inbound_line("SM" + "3" * 32, "STOP", OptOutType="STOP"),
        inbound_line("SM" + "4" * 32, " start! "),
        inbound_line("SM" + "5" * 32, "Unsubscribe"),
        inbound_line("SM" + "6" * 32, "What time do you open? 🙂"),
        inbound_line("SM" + "7" * 32, "help"),
        inbound_line("SM" + "8" * 32, "Stop sending me these", OptOutType="STOP"),
    ])
    data = write_inbox(tmp_path, "twilio", {
        "status-20260314T101500Z.txt": status,
        "inbound-20260314T120000Z.txt": inbound,
    })
    report = ingest_day(data, "twilio", DAY)
    assert report.files == 2
    assert report.tables["message_status"].landed == 3 and report.tables["inbound_messages"].landed == 6
    assert report.quarantined == 0

    statuses = read(data, "twilio", "message_status")
    assert [s["status"] for s in statuses] == ["sent", "delivered", "undelivered"]
    assert statuses[2]["error_code"] == 30003 and statuses[0]["error_code"] is None
    assert statuses[1]["raw_dlr_done_date"] == "2603141215"
    assert statuses[0]["from"] == "+15017122661" and statuses[0]["account_sid"] == ACCOUNT
    assert statuses[0]["received_at"] == datetime(2026, 3, 14, 10, 15, tzinfo=UTC)
    assert statuses[0]["_source_file"] == "twilio/2026-03-14/status-20260314T101500Z.txt"
    assert statuses[0]["_raw"] == status.splitlines()[0]

    inbound_rows = read(data, "twilio", "inbound_messages")
    assert [r["keyword"] for r in inbound_rows] == ["STOP", "START", "UNSUBSCRIBE", None, "HELP", None]
    assert [r["keyword_action"] for r in inbound_rows] == ["opt_out", "opt_in", "opt_out", None, "help", "opt_out"]
    assert inbound_rows[0]["opt_out_type"] == "STOP" and inbound_rows[1]["opt_out_type"] is None
    assert inbound_rows[3]["body"] == "What time do you open? 🙂"
    assert inbound_rows[0]["from"] == "+14155552345" and inbound_rows[0]["num_segments"] == 1
    assert inbound_rows[0]["received_at"] == datetime(2026, 3, 14, 12, tzinfo=UTC)
    assert inbound_rows[0]["_record_index"] == 0 and inbound_rows[5]["_record_index"] == 5


def test_twilio_keywords():
    for body, word in [("STOP", "STOP"), ("stop", "STOP"), (" Stop. ", "STOP"), ("STOP ALL", "STOPALL"),
                       ("end", "END"), ("quit", "QUIT"), ("Cancel", "CANCEL"), ("opt-out", "OPTOUT"),
                       ("OPTOUT", "OPTOUT"), ("stopall", "STOPALL"), ("Yes", "YES"), ("unstop", "UNSTOP"),
                       ("START", "START"), ("HELP", "HELP"), ("stop it", None), ("", None), (None, None)]:
        assert normalise_keyword(body) == word, body


def test_twilio_bad_lines_are_quarantined(tmp_path):
    import json

    vector = json.loads((PROVIDER_FIXTURES / "twilio" / "request_validator_vector.json").read_text())
    lines = [
        status_line("SM" + "1" * 32, "delivered").encode(),
        b"MessageSid=SM1&Body=%FF%FE",                   # not UTF-8 once decoded
        urlencode(vector["params"]).encode(),             # a voice webhook: neither kind
        urlencode({"MessageStatus": "sent", "To": "+1555"}).encode(),  # no MessageSid
        urlencode({"MessageSid": "SM9", "Body": "hi"}).encode(),       # no From
        urlencode({"MessageSid": "SM10", "From": "+1555", "Body": ""}).encode(),  # empty body still lands
    ]
    data = write_inbox(tmp_path, "twilio", {"mixed-20260314T000000Z.txt": b"\n".join(lines)})
    report = ingest_day(data, "twilio", DAY)
    assert report.tables["message_status"].records_in == 2 and report.tables["message_status"].quarantined == 1
    assert report.tables["inbound_messages"].records_in == 2 and report.tables["inbound_messages"].landed == 1
    assert report.tables["_files"].quarantined == 2
    for counts in report.tables.values():
        assert counts.records_in == counts.landed + counts.quarantined
    files = read(data, "twilio", "_files", "quarantine")
    assert "twilio _files record 1 (line 2) of mixed-20260314T000000Z.txt: not a form-encoded body" in files[0]["reason"]
    assert files[0]["raw"] == "MessageSid=SM1&Body=%FF%FE"
    assert "neither an inbound message (Body) nor a status callback (MessageStatus)" in files[1]["reason"]
    [status_reject] = read(data, "twilio", "message_status", "quarantine")
    assert status_reject["reason"].endswith("MessageSid: missing") and status_reject["_record_index"] == 3
    [inbound_reject] = read(data, "twilio", "inbound_messages", "quarantine")
    assert inbound_reject["reason"] == "twilio inbound_messages record 4 of mixed-20260314T000000Z.txt (id SM9): From: missing"


def jsonl(*records) -> bytes:
    return b"\n".join(r if isinstance(r, bytes) else orjson.dumps(r) for r in records) + b"\n"


def test_web_events(tmp_path):
    good = {"event_id": "e1", "session_id": "s1", "occurred_at": "2026-03-14T09:30:00+01:00",
            "event_type": "product_view", "customer_id": 42, "anonymous_id": "a1", "url": "https://shop/p/1",
            "product_id": 632910392, "variant_id": 808950810, "search_query": None, "referrer": None,
            "user_agent": "Mozilla/5.0"}
    data = write_inbox(tmp_path, "web", {"events-0001.jsonl": jsonl(
        good,
        {**good, "event_id": "e2", "event_type": "search", "customer_id": None, "product_id": None,
         "search_query": "ipod", "occurred_at": "2026-03-14T08:31:00Z"},
        {**good, "event_id": "e3", "event_type": "checkout"},
        {**good, "event_id": "e4", "occurred_at": "yesterday"},
        {**good, "event_id": "e5", "session_id": None},
        b'{"event_id": "e6", "session_id": ',
        {**good, "event_id": "e7", "customer_id": "not-an-id"},
    )})
    report = ingest_day(data, "web", DAY)
    assert report.tables["events"] == type(report.tables["events"])(7, 3, 4)
    events = read(data, "web", "events")
    assert [e["event_id"] for e in events] == ["e1", "e2", "e7"]
    assert events[0]["occurred_at"] == datetime(2026, 3, 14, 8, 30, tzinfo=UTC)
    assert events[0]["customer_id"] == 42 and events[1]["search_query"] == "ipod" and events[1]["customer_id"] is None
    assert events[2]["customer_id"] is None and events[2]["_warnings"] == ["customer_id: not a 64-bit integer: 'not-an-id'"]
    assert report.warnings == {"events: customer_id: not a 64-bit integer": 1}
    assert events[0]["_raw"] == orjson.dumps(good).decode()
    reasons = [r["reason"] for r in read(data, "web", "events", "quarantine")]
    assert reasons[3].startswith("web events record 5 (line 6) of events-0001.jsonl: not valid JSON: ")
    assert reasons[:3] == [
        "web events record 2 of events-0001.jsonl (id e3): event_type: not one of page_view, product_view, "
        "add_to_cart, search, share: 'checkout'",
        "web events record 3 of events-0001.jsonl (id e4): occurred_at: invalid timestamp: 'yesterday'",
        "web events record 4 of events-0001.jsonl (id e5): session_id: missing",
    ]


def test_reviews_and_nps(tmp_path):
    review = {"review_id": "r1", "product_id": 632910392, "customer_id": 7, "email": "a@b.co", "order_id": 1001,
              "rating": 5, "title": "Great", "body": "Loved it", "verified_buyer": True,
              "created_at": "2026-03-13T22:00:00-05:00"}
    data = write_inbox(tmp_path, "reviews", {"reviews-0001.jsonl": jsonl(
        review, {**review, "review_id": "r2", "rating": 6}, {**review, "review_id": "r3", "rating": 4.5},
        {**review, "review_id": "r4", "product_id": "abc"}, {**review, "review_id": "r5", "customer_id": None,
                                                                "verified_buyer": False, "rating": "3"},
    )})
    report = ingest_day(data, "reviews", DAY)
    assert (report.tables["reviews"].landed, report.tables["reviews"].quarantined) == (2, 3)
    rows = read(data, "reviews", "reviews")
    assert rows[0]["rating"] == 5 and rows[0]["created_at"] == datetime(2026, 3, 14, 3, tzinfo=UTC)
    assert rows[0]["verified_buyer"] is True and rows[1]["rating"] == 3 and rows[1]["customer_id"] is None
    assert report.reasons == {"reviews: rating: not an integer 1-5": 2, "reviews: product_id: not a 64-bit integer": 1}

    answer = {"response_id": "n1", "survey_id": "post-purchase", "customer_id": 7, "email": "a@b.co",
              "order_id": 1001, "score": 0, "comment": "", "submitted_at": "2026-03-14T10:00:00Z"}
    data = write_inbox(tmp_path, "nps", {"nps-0001.jsonl": jsonl(
        answer, {**answer, "response_id": "n2", "score": 10}, {**answer, "response_id": "n3", "score": 11},
        {**answer, "response_id": "n4", "submitted_at": None}, {**answer, "response_id": None},
        {**answer, "response_id": "n6", "submitted_at": "2026-03-14T10:00:00"},
    )})
    report = ingest_day(data, "nps", DAY)
    assert (report.tables["responses"].landed, report.tables["responses"].quarantined) == (2, 4)
    assert [r["score"] for r in read(data, "nps", "responses")] == [0, 10]
    reasons = [r["reason"] for r in read(data, "nps", "responses", "quarantine")]
    assert reasons[0].endswith("(id n3): score: not an integer 0-10: 11")
    assert reasons[1].endswith("(id n4): submitted_at: missing")
    assert reasons[2].endswith("record 4 of nps-0001.jsonl: response_id: missing")
    assert reasons[3].endswith("submitted_at: timestamp without UTC offset: '2026-03-14T10:00:00'")


def test_frequency_preferences_land_normalised_and_bad_ones_are_quarantined_alone(tmp_path):
    choice = {"preference_id": "p1", "customer_id": 7, "email": None, "email_frequency": "weekly",
              "submitted_at": "2026-03-14T10:00:00Z"}
    data = write_inbox(tmp_path, "preferences", {"preferences-0001.jsonl": jsonl(
        choice,
        {**choice, "preference_id": "p2", "customer_id": None, "email": "B@x.co", "email_frequency": "Order-Updates-Only"},
        {**choice, "preference_id": "p3", "email_frequency": "daily"},
        {**choice, "preference_id": "p4", "customer_id": None, "email": " "},
        {**choice, "preference_id": "p5", "email_frequency": None},
        {**choice, "preference_id": "p6", "email_frequency": "monthly"},
    )})
    report = ingest_day(data, "preferences", DAY)
    assert (report.tables["preferences"].landed, report.tables["preferences"].quarantined) == (3, 3)
    assert [(r["preference_id"], r["email_frequency"]) for r in read(data, "preferences", "preferences")] == [
        ("p1", "weekly"), ("p2", "order_updates_only"), ("p6", "monthly")]
    reasons = [r["reason"] for r in read(data, "preferences", "preferences", "quarantine")]
    assert reasons[0].endswith("(id p3): email_frequency: not one of as_usual, weekly, monthly, order_updates_only: 'daily'")
    assert reasons[1].endswith("(id p4): customer_id: needs a customer_id or an email")
    assert reasons[2].endswith("(id p5): email_frequency: missing")


def test_product_subscriptions_land_and_bad_ones_are_quarantined_alone(tmp_path):
    wish = {"subscription_id": "s1", "customer_id": 7, "email": None, "product_id": 100, "variant_id": 11,
            "kind": "back_in_stock", "created_at": "2026-03-14T10:00:00Z", "cancelled_at": None}
    data = write_inbox(tmp_path, "subscriptions", {"subscriptions-0001.jsonl": jsonl(
        wish,
        {**wish, "subscription_id": "s2", "customer_id": None, "email": "b@x.co", "variant_id": None, "kind": "wishlist"},
        {**wish, "subscription_id": "s3", "kind": "restock"},
        {**wish, "subscription_id": "s4", "customer_id": None},
        {**wish, "subscription_id": "s5", "product_id": None},
        {**wish, "subscription_id": "s6", "kind": "price_drop", "cancelled_at": "2026-03-14T11:00:00Z"},
    )})
    report = ingest_day(data, "subscriptions", DAY)
    assert (report.tables["subscriptions"].landed, report.tables["subscriptions"].quarantined) == (3, 3)
    assert [(r["subscription_id"], r["variant_id"], r["kind"]) for r in read(data, "subscriptions", "subscriptions")] == [
        ("s1", 11, "back_in_stock"), ("s2", None, "wishlist"), ("s6", 11, "price_drop")]
    reasons = [r["reason"] for r in read(data, "subscriptions", "subscriptions", "quarantine")]
    assert reasons[0].endswith("(id s3): kind: not one of back_in_stock, price_drop, wishlist: 'restock'")
    assert reasons[1].endswith("(id s4): customer_id: needs a customer_id or an email")
    assert reasons[2].endswith("(id s5): product_id: missing")
