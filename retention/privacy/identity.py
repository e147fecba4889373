"""Who a privacy request is about: every identifier the stores may hold for one person.

A request names an email, a phone and/or a Shopify customer id. The warehouse's identity graph
(``int_identity``) links them to one or more ``customer_key`` and so to every other email, phone
and customer id of the same person; their names and order ids come from the marts. Without a
warehouse (or for a person it never saw) the request's own identifiers are all there is.

``Person.pattern`` is one case-insensitive regular expression (RE2 and Python syntax alike, so
DuckDB, Arrow and Python all use the same definition) that finds any of them in text: emails as
typed or URL-encoded, phones in any of the ways people write them, ids as whole numbers.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote_plus

import pyarrow as pa
import pyarrow.compute as pc

from retention.duckdb_config import connect

PHONE_COUNTRY_CODE = "1"  # as the warehouse's normalize_phone (dbt var default_phone_country_code)
_SEPARATORS = r"[\s().+-]*"
_JSON_ESCAPE = re.compile(r"\\u([0-9a-fA-F]{4})")


def normal_email(value: str | None) -> str | None:
    """Trimmed and lower-cased, as the warehouse compares them; None when it is no address."""
    if not isinstance(value, str):
        return None
    email = value.strip().lower()
    return email if "@" in email else None


def normal_phone(value: str | None, country_code: str = PHONE_COUNTRY_CODE) -> str | None:
    """E.164 by the warehouse's rules (``normalize_phone``): None when the digits cannot be one."""
    if not isinstance(value, str):
        return None
    digits = re.sub(r"\D", "", value)
    if value.strip().startswith("+") and 8 <= len(digits) <= 15:
        return "+" + digits
    if digits.startswith("00") and 10 <= len(digits) <= 17:
        return "+" + digits[2:]
    if len(digits) == 10:
        return f"+{country_code}{digits}"
    if len(digits) == 11 and digits.startswith(country_code):
        return "+" + digits
    return None


@dataclass(frozen=True)
class Subject:
    """What a request names (any of the three)."""

    email: str | None = None
    phone: str | None = None
    shopify_customer_id: int | None = None

    def __post_init__(self):
        if not (self.email or self.phone or self.shopify_customer_id):
            raise ValueError("a privacy request needs an email, a phone or a Shopify customer id")
        if self.email is not None and normal_email(self.email) is None:
            raise ValueError(f"not an email address: {len(self.email)} characters without an @")
        if self.phone is not None and normal_phone(self.phone) is None:
            raise ValueError("not a phone number: it has no E.164 form")


@dataclass(frozen=True)
class Person:
    emails: frozenset[str] = frozenset()
    phones: frozenset[str] = frozenset()
    customer_ids: frozenset[int] = frozenset()
    customer_keys: frozenset[str] = frozenset()
    order_ids: frozenset[int] = frozenset()
    names: frozenset[str] = field(default=frozenset())  # full names, "first last"

    def pattern(self) -> str:
        parts = []
        for email in sorted(self.emails):
            parts += [re.escape(email), re.escape(email.replace("@", "%40").replace("+", "%2B"))]
        parts += [_phone_pattern(p) for p in sorted(self.phones)]
        parts += [rf"(^|[^0-9]){n}([^0-9]|$)" for n in sorted(self.customer_ids | self.order_ids)]
        parts += [re.escape(k) for k in sorted(self.customer_keys)]
        parts += [r"\s+".join(re.escape(w) for w in name.split()) for name in sorted(self.names)]
        return "(?i)(" + "|".join(f"(?:{p})" if "|" in p else p for p in parts) + ")"


def _phone_pattern(e164: str) -> str:
    """The national digits with any separators, after an optional country code or trunk 0."""
    digits = e164.lstrip("+")
    cc_len = 1 if digits.startswith("1") and len(digits) == 11 else 2
    cc, national = digits[:cc_len], digits[cc_len:]
    body = _SEPARATORS.join(national)
    return rf"(^|[^0-9])((00|\+|%2B)?{_SEPARATORS}{cc}{_SEPARATORS}|0)?{body}([^0-9]|$)"


def resolve(subject: Subject, warehouse: Path) -> Person:
    """The subject and everything the warehouse links to them."""
    emails = {e for e in [normal_email(subject.email)] if e}
    phones = {p for p in [normal_phone(subject.phone)] if p}
    ids = {int(subject.shopify_customer_id)} if subject.shopify_customer_id else set()
    if not warehouse.exists():
        return Person(frozenset(emails), frozenset(phones), frozenset(ids))
    with connect(warehouse, read_only=True) as con:
        tables = {r[0] for r in con.execute("select table_name from information_schema.tables").fetchall()}
        keys: set[str] = set()
        if "int_identity" in tables:
            named = [("email", e) for e in emails] + [("phone", p) for p in phones] + \
                    [("shopify_customer_id", str(i)) for i in ids]
            keys = {r[0] for r in con.execute(
                "select distinct customer_key from int_identity where (identifier_type, identifier_value) in "
                "(select unnest(?), unnest(?))", [[t for t, _ in named], [v for _, v in named]]).fetchall()}
            for kind, value in con.execute(
                    "select identifier_type, identifier_value from int_identity where customer_key in "
                    "(select unnest(?))", [sorted(keys)]).fetchall():
                {"email": emails, "phone": phones}.get(kind, set()).add(value) if kind != "shopify_customer_id" \
                    else ids.add(int(value))
        names, orders = set(), set()
        if "customers" in tables and keys:
            names = {f"{f} {la}".strip() for f, la in con.execute(
                "select first_name, last_name from customers where customer_key in (select unnest(?)) "
                "and first_name is not null and last_name is not null", [sorted(keys)]).fetchall()}
        if "stg_shopify__orders" in tables:
            orders = {r[0] for r in con.execute(
                "select distinct order_id from stg_shopify__orders where customer_id in (select unnest(?)) "
                "or email in (select unnest(?))", [sorted(ids), sorted(emails)]).fetchall()}
    return Person(frozenset(emails), frozenset(phones), frozenset(ids), frozenset(keys), frozenset(orders),
                  frozenset(names))


class Matcher:
    """Finds a person in text: ``matching`` and ``naming`` for whole records, ``redact`` for free text."""

    REDACTED = "[erased]"

    def __init__(self, person: Person):
        self.person = person
        self.pattern = person.pattern()
        self.regex = re.compile(self.pattern)

    def matching(self, texts: list[str]) -> list[bool]:
        """For each text, whether it names the person (RE2 through Arrow: linear time, and many
        times faster than Python's engine on this alternation); a text that does not as it is
        written is matched again once decoded (JSON's ``\\u`` escapes, URL encoding)."""
        found = pc.match_substring_regex(pa.array(texts, pa.string()), self.pattern).to_pylist()
        encoded = [i for i, (hit, text) in enumerate(zip(found, texts, strict=True))
                   if not hit and ("%" in text or "\\u" in text)]
        if encoded:
            decoded = pc.match_substring_regex(pa.array([_decoded(texts[i]) for i in encoded], pa.string()),
                                               self.pattern).to_pylist()
            for i, hit in zip(encoded, decoded, strict=True):
                found[i] = hit
        return [bool(hit) for hit in found]

    def naming(self, texts: Iterable[str]) -> set[str]:
        """Those of the texts that name the person, in one call."""
        texts = list(texts)
        return {text for text, hit in zip(texts, self.matching(texts), strict=True) if hit}

    def redact(self, text: str) -> str:
        # keep the boundary characters the id and phone alternatives consume
        return self.regex.sub(lambda m: _boundaries(m.group(0)), text)


def _boundaries(found: str) -> str:
    """The replacement of one match: the boundary characters the id and phone alternatives consume
    are kept, and a number stays a number (``0``) so that JSON text stays valid JSON."""
    head = found[0] if found and not found[0].isalnum() and found[0] not in "+%(" else ""
    tail = found[-1] if len(found) > 1 and not found[-1].isalnum() and found[-1] not in ")" else ""
    core = found[len(head):len(found) - len(tail)]
    return head + ("0" if core.isdigit() else Matcher.REDACTED) + tail


def _decoded(text: str) -> str:
    """The text with JSON's ``\\u`` escapes and then URL encoding undone."""
    if "\\u" in text:
        text = _JSON_ESCAPE.sub(_unescape, text)
    return unquote_plus(text) if "%" in text else text


def _unescape(found: re.Match) -> str:
    code = int(found.group(1), 16)
    return found.group(0) if 0xD800 <= code <= 0xDFFF else chr(code)  # half a surrogate pair stays escaped
