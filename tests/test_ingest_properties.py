"""Properties of every parser, over generated input (Hypothesis):

- any bytes for a file: no exception escapes, and per table ``records_in == landed + quarantined``;
- any JSON value in any field of a valid record: the same, the file is never quarantined whole for
  it (the record alone answers for its values), and every reason names the file.

Each case is one parser and one file kind, with a valid record that lands as it is.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import urlencode

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from retention.ingest import parse_files
from retention.ingest.schema import FILES_TABLE
from tests.fakes.shopify import make_level, make_record
from tests.fakes.shopify_graphql import NODE, rest_records
from tests.fixtures import PROVIDER_FIXTURES

DAY = date(2026, 3, 14)
AT = datetime(2026, 3, 14, 10, 0, tzinfo=UTC)
SETTINGS = settings(max_examples=40, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


def fixture(rel: str):
    return orjson.loads((PROVIDER_FIXTURES / rel).read_bytes())


@dataclass(frozen=True)
class Case:
    source: str
    name: str  # the file's path inside inbox/<source>/<day>/
    table: str  # where the record lands
    record: dict
    kind: str = "page"  # how the record is written: page or graphql (under key), list, webhook, bulk, jsonl, form
    key: str = ""

    def file_bytes(self, record) -> bytes:
        if self.kind == "page":
            return _dumps({self.key: [record]})
        if self.kind == "list":
            return _dumps([record])
        if self.kind == "webhook":
            return _dumps(record)
        if self.kind == "graphql":
            return _dumps({"data": {self.key: {"nodes": [record]}}})
        if self.kind in ("bulk", "jsonl"):  # one line a record
            return _dumps(record) + b"\n"
        if self.kind == "form":
            return urlencode(record).encode()
        raise AssertionError(self.kind)


def _dumps(value) -> bytes:
    """The standard library's encoder: it writes what orjson would refuse (integers past 64 bits)."""
    return json.dumps(value, ensure_ascii=False).encode()


def _review() -> dict:
    return {"review_id": "r1", "product_id": 7, "customer_id": 3, "email": "a@example.com", "order_id": 9,
            "rating": 4, "title": "Good", "body": "Fits", "verified_buyer": True, "created_at": "2026-03-14T10:00:00Z"}


def _nps() -> dict:
    return {"response_id": "n1", "survey_id": "s1", "customer_id": 3, "email": "a@example.com", "order_id": 9,
            "score": 9, "comment": "fine", "submitted_at": "2026-03-14T10:00:00+02:00"}


def _web() -> dict:
    return {"event_id": "e1", "session_id": "s1", "occurred_at": "2026-03-14T10:00:00Z", "event_type": "product_view",
            "customer_id": 3, "anonymous_id": "a1", "url": "/p/7", "product_id": 7, "variant_id": 8,
            "search_query": None, "referrer": None, "user_agent": "ua"}


CASES = {
    "shopify_orders": Case("shopify", "orders-0001.json", "orders", fixture("shopify/order_single.json")["order"],
                           key="orders"),
    "shopify_customers": Case("shopify", "customers-0001.json", "customers",
                              fixture("shopify/customer_single.json")["customer"], key="customers"),
    "shopify_products": Case("shopify", "products-0001.json", "products",
                             fixture("shopify/product_single.json")["product"], key="products"),
    "shopify_checkouts": Case("shopify", "checkouts-0001.json", "checkouts",
                              fixture("shopify/abandoned_checkouts.json")["checkouts"][0], key="checkouts"),
    "shopify_refunds": Case("shopify", "refunds-0001.json", "refunds", fixture("shopify/refunds_list.json")["refunds"][0],
                            key="refunds"),
    "shopify_fulfillments": Case("shopify", "fulfillments-0001.json", "fulfillments",
                                 fixture("shopify/fulfillments_list.json")["fulfillments"][0], key="fulfillments"),
    "shopify_locations": Case("shopify", "locations-0001.json", "locations", make_record("locations", 9, AT),
                              key="locations"),
    "shopify_inventory": Case("shopify", "inventory_levels-0001.json", "inventory_levels", make_level(801, 9, 3, AT),
                              kind="list"),
    "shopify_webhook_order": Case("shopify", "webhooks/orders_create/101500-w1.json", "orders",
                                  fixture("shopify/order_single.json")["order"], kind="webhook"),
    "shopify_webhook_redact": Case("shopify", "webhooks/customers_redact/101500-w2.json", "privacy_requests",
                                   fixture("shopify_graphql/webhook_customers_redact.json"), kind="webhook"),
    "graphql_orders": Case("shopify", "gql-orders-0001.json", "orders", NODE["orders"](rest_records("orders")[0]),
                           kind="graphql", key="orders"),
    "graphql_bulk_products": Case("shopify", "gql-bulk-products-0001.jsonl", "products",
                                  NODE["products"](rest_records("products")[0]), kind="bulk"),
    "sendgrid_events": Case("sendgrid", "events-0001.json", "events",
                            fixture("sendgrid/event_webhook_all_types.json")[0], kind="list"),
    "sendgrid_account": Case("sendgrid", "events-0002.json", "account_events",
                             {"event": "account_status_change", "type": "compliance_suspend", "timestamp": 1773480000,
                              "sg_event_id": "acc1"}, kind="list"),
    "suppressions_bounces": Case("sendgrid_suppressions", "20260314T020000Z/bounces.json", "suppressions",
                                 {"email": "a@example.com", "created": 1773480000, "reason": "550", "status": "5.1.1"},
                                 kind="list"),
    "suppressions_groups": Case("sendgrid_suppressions", "20260314T020000Z/asm_groups.json", "suppression_groups",
                                {"id": 4, "name": "News", "description": "d", "is_default": False, "unsubscribes": 2,
                                 "last_email_sent_at": 1773480000}, kind="list"),
    "twilio_status": Case("twilio", "status-20260314T105959Z.txt", "message_status",
                          {"MessageSid": "SM1", "AccountSid": "AC1", "MessageStatus": "delivered", "To": "+15550001",
                           "From": "+15550002", "ErrorCode": "", "SmsSid": "SM1"}, kind="form"),
    "twilio_inbound": Case("twilio", "inbound-20260314T105959Z.txt", "inbound_messages",
                           {"MessageSid": "SM2", "AccountSid": "AC1", "Body": "STOP", "From": "+15550001",
                            "To": "+15550002", "NumMedia": "0", "NumSegments": "1", "OptOutType": "STOP"}, kind="form"),
    "web": Case("web", "events.jsonl", "events", _web(), kind="jsonl"),
    "reviews": Case("reviews", "reviews.jsonl", "reviews", _review(), kind="jsonl"),
    "nps": Case("nps", "responses.jsonl", "responses", _nps(), kind="jsonl"),
}


# -- values ---------------------------------------------------------------------------------------
def _iso(moment: datetime) -> str:
    return moment.isoformat()


OFFSETS = st.timedeltas(min_value=-timedelta(hours=23, minutes=59), max_value=timedelta(hours=23, minutes=59)).map(
    lambda d: timezone(timedelta(minutes=int(d.total_seconds() // 60))))
# Any instant, with the ends of the calendar drawn often: there an offset moves UTC past year 1 or 9999.
MOMENTS = st.one_of(
    st.datetimes(timezones=OFFSETS),
    st.datetimes(max_value=datetime(1, 1, 2), timezones=OFFSETS),
    st.datetimes(min_value=datetime(9999, 12, 30), timezones=OFFSETS),
)
# Text that reaches the typing code's edges: timestamps at the ends of the calendar, numbers as text.
EDGE_TEXT = st.one_of(
    MOMENTS.map(_iso),
    st.sampled_from(["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00", "2026-03-14", "2026-03-14T10:00:00",
                     "", " ", "1e400", "-0", "99999999999999999999999", "NaN", "true", "0.00001", "STOP"]),
    st.integers().map(str),
)
SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=12), EDGE_TEXT,
)
JSON_VALUES = st.recursive(
    SCALARS, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=6,
)


def field_paths(value, prefix=()) -> list[tuple]:
    """Every place in a record where a value sits: object keys and list positions, at any depth."""
    paths = []
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, child in items:
        paths.append((*prefix, key))
        paths.extend(field_paths(child, (*prefix, key)))
    return paths


def timestamp_paths(record) -> list[tuple]:
    """The places that hold an ISO 8601 timestamp in the valid record."""
    paths = []
    for path in field_paths(record):
        value = record
        for key in path:
            value = value[key]
        if isinstance(value, str) and len(value) >= 20 and value[4:5] == "-" and value[10:11] == "T":
            paths.append(path)
    return paths


def replaced(record, changes: list[tuple]):
    copy = json.loads(json.dumps(record))
    for path, value in changes:
        target = copy
        try:
            for key in path[:-1]:
                target = target[key]
            target[path[-1]] = value
        except (KeyError, IndexError, TypeError):
            continue  # an earlier change replaced the value that held this place
    return copy


# -- checks ---------------------------------------------------------------------------------------
def write(root: Path, case: Case, data: bytes) -> Path:
    path = root / case.source / DAY.isoformat() / case.name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def accounted(parsed, file_name: str) -> None:
    """Nothing escaped (we got here), each table reconciles, each reason names the file."""
    for table, counts in parsed.counts.items():
        assert counts.records_in == counts.landed + counts.quarantined, table
    for reason in parsed.quarantine.column("reason").to_pylist():
        assert file_name in reason, reason


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_the_valid_record_lands(tmp_path, case):
    path = write(tmp_path, case, case.file_bytes(case.record))
    parsed = parse_files(case.source, [path], tmp_path)
    assert parsed.counts[case.table].landed == 1 and parsed.quarantine.num_rows == 0, parsed.examples


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_any_bytes_for_a_file(tmp_path, case):
    valid = case.file_bytes(case.record)

    @SETTINGS
    @given(data=st.one_of(st.binary(max_size=200), st.integers(0, len(valid)).map(lambda n: valid[:n]),
                          st.tuples(st.integers(0, len(valid) - 1), st.binary(min_size=1, max_size=4)).map(
                              lambda p: valid[:p[0]] + p[1] + valid[p[0] + len(p[1]):])))
    def check(data):
        path = write(tmp_path, case, data)
        accounted(parse_files(case.source, [path], tmp_path), path.name)

    check()


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_any_json_value_in_any_field(tmp_path, case):
    paths = field_paths(case.record)
    values = st.text(max_size=12) | EDGE_TEXT if case.kind == "form" else JSON_VALUES  # a form holds text only

    @SETTINGS
    @given(changes=st.lists(st.tuples(st.sampled_from(paths), values), min_size=1, max_size=3))
    def check(changes):
        data = case.file_bytes(replaced(case.record, changes))
        file = write(tmp_path, case, data)
        parsed = parse_files(case.source, [file], tmp_path)
        accounted(parsed, file.name)
        readable = True
        try:
            orjson.loads(data.splitlines()[0] if case.kind in ("bulk", "jsonl") else data)
        except orjson.JSONDecodeError:
            readable = False  # an integer past 64 bits: the file (or line) is unreadable JSON, rightly
        if readable and case.kind != "bulk":  # a bulk line's ids and parent decide which record it is part of
            assert FILES_TABLE not in parsed.counts, parsed.examples
            assert sum(c.records_in for c in parsed.counts.values()) >= 1

    check()


TIMESTAMP_CASES = {name: case for name, case in CASES.items() if timestamp_paths(case.record)}


@pytest.mark.parametrize("case", TIMESTAMP_CASES.values(), ids=TIMESTAMP_CASES.keys())
def test_any_timestamp_in_any_timestamp_field(tmp_path, case):
    """Every instant of years 1-9999 at any UTC offset, written as ISO 8601: those whose UTC time
    leaves that range (``0001-01-01T00:00:00+01:00``) are quarantined alone, naming the field."""

    @SETTINGS
    @given(path=st.sampled_from(timestamp_paths(case.record)), moment=MOMENTS)
    def check(path, moment):
        file = write(tmp_path, case, case.file_bytes(replaced(case.record, [(path, moment.isoformat())])))
        parsed = parse_files(case.source, [file], tmp_path)
        accounted(parsed, file.name)
        assert sum(c.records_in for t, c in parsed.counts.items() if t != FILES_TABLE) >= 1
        assert FILES_TABLE not in parsed.counts, parsed.examples

    check()
