"""Privacy requests, whatever their intake: a Shopify webhook landed in ``shopify/privacy_requests``,
the command line, or the Dagster job's config. Each has an id, so a request acted on is never
acted on twice (the erasure log and the exports name the ids done)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import duckdb

from retention.paths import DataDir
from retention.privacy.identity import Subject

ERASE_TOPIC, SHOP_TOPIC, ACCESS_TOPIC = "customers/redact", "shop/redact", "customers/data_request"


@dataclass(frozen=True)
class PrivacyRequest:
    request_id: str
    kind: str  # "erase" | "export" | "erase_shop"
    subject: Subject | None  # None for a whole shop


def manual(kind: str, subject: Subject) -> PrivacyRequest:
    """A request made by hand: its id is a hash of what it names (never the address itself)."""
    text = f"{kind}|{subject.email or ''}|{subject.phone or ''}|{subject.shopify_customer_id or ''}"
    return PrivacyRequest(f"manual:{hashlib.sha256(text.encode()).hexdigest()[:16]}", kind, subject)


def landed_requests(data_dir: DataDir) -> list[PrivacyRequest]:
    """Every request in the landing table, oldest delivery first."""
    files = data_dir.landing / "shopify" / "privacy_requests"
    if not any(files.glob("date=*/*.parquet")):
        return []
    rows = duckdb.sql(f"""
        select webhook_id, topic, customer_id, email, phone
        from read_parquet('{files}/date=*/*.parquet', hive_partitioning = true)
        order by date, _source_file""").fetchall()
    requests = []
    for webhook_id, topic, customer_id, email, phone in rows:
        request_id = f"shopify:{webhook_id}"
        if topic == SHOP_TOPIC:
            requests.append(PrivacyRequest(request_id, "erase_shop", None))
            continue
        try:
            subject = Subject(email or None, phone or None, customer_id)
        except ValueError:
            subject = Subject(None, None, customer_id) if customer_id else None
        if subject is not None:
            requests.append(PrivacyRequest(request_id, "erase" if topic == ERASE_TOPIC else "export", subject))
    return requests
