"""Erasure finds a person however a file writes them: any case, padded, JSON-escaped, URL-encoded,
phones with any separators, ids as numbers, inside gzip; files are matched in batches, and a
file is scrubbed only of the person's records, its neighbours kept as they were."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import orjson
import pytest

from retention.paths import DataDir
from retention.privacy import Subject, erase, stores
from retention.privacy.erasure import LedgerOutOfReach

EMAIL, PHONE, SHOPIFY_ID = "jo.obrien+vip@example.com", "+1 (415) 555-0134", 7012345678901
NEIGHBOUR = {"id": 2, "email": "someone.else@example.com", "phone": "+14155550199", "note": "kept"}

# (file, what it holds of the person, how many of their records)
FORMS = {
    "shopify/2025-06-01/customers-upper.json": ({"customers": [{"id": 1, "email": EMAIL.upper()}, NEIGHBOUR]}, 1),
    "shopify/2025-06-01/customers-padded.json": ({"customers": [{"id": 1, "email": f"  {EMAIL}\t"}, NEIGHBOUR]}, 1),
    "shopify/2025-06-01/orders-by-id.json": ({"orders": [{"id": 11, "customer": {"id": SHOPIFY_ID}}, NEIGHBOUR]}, 1),
    "web/2025-06-01/events-phone-dots.json": ([{"phone": "415.555.0134"}, NEIGHBOUR], 1),
    "web/2025-06-01/events-phone-spaces.json": ([{"phone": "+1 415 555 0134"}, NEIGHBOUR], 1),
    "web/2025-06-01/events-phone-00.json": ([{"phone": "0014155550134"}, NEIGHBOUR], 1),
    "web/2025-06-01/events-url.json": ([{"url": "https://shop.example/?e=jo.obrien%2Bvip%40example.com"},
                                        NEIGHBOUR], 1),
}
# written as text: JSON's escapes (an HTML-safe encoder's), URL-encoded form lines, gzip
ESCAPED = '{"contacts": [{"email": "jo.obrien\\u002bvip\\u0040example.com"}, ' + json.dumps(NEIGHBOUR) + "]}"
FORM_LINES = ("From=%28415%29+555-0134&Body=hi\n"
              "From=%2B14155550134&Body=stop\n"
              "From=%2B14155550199&Body=kept\n")
GZIPPED_LINES = (json.dumps({"customer_id": SHOPIFY_ID, "event": "open"}) + "\n"
                 + json.dumps({"email": EMAIL.title(), "event": "click"}) + "\n"
                 + json.dumps(NEIGHBOUR) + "\n")
RAW_FORMS = ["jo.obrien", "JO.OBRIEN", "0134", "7012345678901", "obrien%2Bvip", "\\u0040example"]


@pytest.fixture
def store(tmp_path, monkeypatch) -> Path:
    inbox = tmp_path / "inbox"
    for name, (doc, _) in FORMS.items():
        (inbox / name).parent.mkdir(parents=True, exist_ok=True)
        (inbox / name).write_bytes(orjson.dumps(doc))
    (inbox / "sendgrid/2025-06-01").mkdir(parents=True)
    (inbox / "sendgrid/2025-06-01/contacts-escaped.json").write_text(ESCAPED)
    (inbox / "sendgrid/2025-06-01/events.jsonl.gz").write_bytes(gzip.compress(GZIPPED_LINES.encode()))
    (inbox / "twilio/2025-06-01").mkdir(parents=True)
    (inbox / "twilio/2025-06-01/inbound.txt").write_text(FORM_LINES)
    for i in range(20):  # files that do not name them, between and around the ones that do
        (inbox / f"web/2025-06-02/events-{i}.json").parent.mkdir(parents=True, exist_ok=True)
        (inbox / f"web/2025-06-02/events-{i}.json").write_bytes(orjson.dumps([NEIGHBOUR, {"n": i}]))
    monkeypatch.setattr(stores, "TEXT_BATCH_CHARS", 300)  # several batches, each with hits and misses
    return tmp_path


def texts_of(root: Path) -> dict[str, str]:
    out = {}
    for path in sorted((root / "inbox").rglob("*")):
        if path.is_file():
            data = path.read_bytes()
            out[str(path.relative_to(root / "inbox"))] = (gzip.decompress(data) if path.suffix == ".gz"
                                                          else data).decode()
    return out


def test_every_form_of_an_identifier_is_erased_and_nothing_else(store):
    before = texts_of(store)
    report = erase(DataDir(store), Subject(email=f" {EMAIL.upper()} ", phone=PHONE, shopify_customer_id=SHOPIFY_ID))

    after = texts_of(store)
    for name, text in after.items():
        assert not any(form in text for form in RAW_FORMS), name
    expected = sum(n for _, n in FORMS.values()) + 1 + 2 + 2  # escaped, form lines, gzipped lines
    assert report.counts == {"inbox": expected}
    assert report.files_changed == len(FORMS) + 3
    # each neighbour kept as it was, whatever the format
    for name in FORMS:
        kept = orjson.loads(after[name])
        assert NEIGHBOUR in (kept if isinstance(kept, list) else next(iter(kept.values()))), name
    assert orjson.loads(after["sendgrid/2025-06-01/contacts-escaped.json"]) == {"contacts": [NEIGHBOUR]}
    assert after["twilio/2025-06-01/inbound.txt"] == "From=%2B14155550199&Body=kept\n"
    assert after["sendgrid/2025-06-01/events.jsonl.gz"] == json.dumps(NEIGHBOUR) + "\n"
    untouched = {name for name in before if name.startswith("web/2025-06-02/")}
    assert {name: after[name] for name in untouched} == {name: before[name] for name in untouched}


def test_a_log_line_names_no_one(store):
    erase(DataDir(store), Subject(email=EMAIL, phone=PHONE, shopify_customer_id=SHOPIFY_ID))
    log = (store / "privacy" / "log.jsonl").read_text()
    assert not any(form.lower() in log.lower() for form in (EMAIL, "4155550134", str(SHOPIFY_ID)))


def test_erasure_refuses_a_postgres_ledger_before_changing_anything(tmp_path):
    data_dir = DataDir(tmp_path, ledger_url="postgresql://shop:secret@db.internal/ledger")
    with pytest.raises(LedgerOutOfReach, match="on Postgres") as refused:
        erase(data_dir, Subject(email="ann@example.com"))
    assert "secret" not in str(refused.value) and list(tmp_path.iterdir()) == []
