"""Typing one record: coercion of JSON values into column values, with errors that name the field.

A parser makes one ``Check`` per top-level record and asks it for each value it needs:

- ``need=REQUIRED``: a README rule ("what a record must have to land"); missing or invalid
  is an *error* and the record goes to quarantine.
- ``need=VALID``: may be missing or null, but if present it must have the right type (the
  README's "money fields decimal"); invalid is an error.
- ``need=None`` (lenient): anything else. A value that cannot be typed becomes null in its
  column and a *warning* (``_warnings`` column, report ``warnings``); ``_raw`` keeps it.

Errors and warnings are ``Issue(field, short, detail)``: ``short`` is the group key used in
the report ("not a decimal"), ``detail`` carries the offending value.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation

import orjson
import pyarrow as pa

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

REQUIRED = "required"
VALID = "valid"

# Money: decimal(18, 4) -- 14 integer digits, 4 decimals (enough for 3-decimal currencies);
# DuckDB stores it as a 64-bit integer.
MONEY_PRECISION, MONEY_SCALE = 18, 4
MONEY = pa.decimal128(MONEY_PRECISION, MONEY_SCALE)
TIMESTAMP = pa.timestamp("us", tz="UTC")
_MONEY_QUANTUM = Decimal(1).scaleb(-MONEY_SCALE)
_MONEY_LIMIT = Decimal(10) ** (MONEY_PRECISION - MONEY_SCALE)
_DECIMAL_TEXT = re.compile(r"-?\d+(\.\d+)?\Z")
_INT_TEXT = re.compile(r"-?\d+\Z")
_NUMBER_TEXT = re.compile(r"-?\d+(\.\d+)?\Z")
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
# Unix times at or above this are milliseconds (1e11 seconds is the year 5138).
MS_THRESHOLD = 100_000_000_000
MS_LIMIT = 100_000_000_000_000  # 1e14 ms is the year 5138 again: above it the value is not a time


@dataclass(frozen=True)
class Issue:
    field: str
    short: str
    detail: str

    @property
    def group(self) -> str:
        """``line_items[3].price: not a decimal`` -> ``line_items[].price: not a decimal``."""
        return f"{_INDEX.sub('[]', self.field)}: {self.short}"

    def __str__(self) -> str:
        return f"{self.field}: {self.detail}"


_INDEX = re.compile(r"\[\d+\]")


def show(value) -> str:
    """A value for a message: its repr, cut to 80 characters."""
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


class Check:
    """Collects the issues of one record while its values are typed."""

    __slots__ = ("errors", "warnings")

    def __init__(self) -> None:
        self.errors: list[Issue] = []
        self.warnings: list[Issue] = []

    # -- recording ------------------------------------------------------------------------
    def issue(self, need, field: str, short: str, detail: str | None = None) -> None:
        target = self.errors if need else self.warnings
        target.append(Issue(field, short, detail or short))

    def error(self, field: str, short: str, detail: str | None = None) -> None:
        self.errors.append(Issue(field, short, detail or short))

    def _missing(self, need, field: str) -> None:
        if need == REQUIRED:
            self.errors.append(Issue(field, "missing", "missing"))

    @property
    def warning_texts(self) -> list[str] | None:
        return [str(w) for w in self.warnings] or None

    # -- typed getters ----------------------------------------------------------------------
    def int(self, obj: dict, key: str, need=None, at: str = "") -> int | None:
        value = obj.get(key)
        if value is None:
            self._missing(need, at + key)
            return None
        result = to_int(value)
        if result is None:
            self.issue(need, at + key, "not a 64-bit integer", f"not a 64-bit integer: {show(value)}")
        return result

    def money(self, obj: dict, key: str, need=None, at: str = "") -> Decimal | None:
        value = obj.get(key)
        if value is None:
            self._missing(need, at + key)
            return None
        result = to_money(value)
        if result is None:
            self.issue(need, at + key, "not a decimal", f"not a decimal: {show(value)}")
        return result

    def ts(self, obj: dict, key: str, need=None, at: str = "") -> datetime | None:
        """An ISO 8601 timestamp with a UTC offset (``Z`` or ``+hh:mm``), as UTC."""
        value = obj.get(key)
        if value is None or value == "":
            self._missing(need, at + key)
            return None
        if isinstance(value, str):
            try:
                parsed = datetime.fromisoformat(value)
            except ValueError:
                parsed = None
            if parsed is not None:
                if parsed.tzinfo is None:
                    self.issue(need, at + key, "timestamp without UTC offset",
                               f"timestamp without UTC offset: {show(value)}")
                    return None
                return parsed.astimezone(UTC)
        self.issue(need, at + key, "invalid timestamp", f"invalid timestamp: {show(value)}")
        return None

    def epoch(self, obj: dict, key: str, need=None, at: str = "") -> datetime | None:
        """Unix seconds or milliseconds (number or numeric string), as UTC."""
        value = obj.get(key)
        if value is None or value == "":
            self._missing(need, at + key)
            return None
        result = epoch_to_datetime(value)
        if result is None:
            self.issue(need, at + key, "not Unix seconds or milliseconds",
                       f"not Unix seconds or milliseconds: {show(value)}")
        return result

    def bool(self, obj: dict, key: str, need=None, at: str = "") -> bool | None:
        value = obj.get(key)
        if value is None:
            self._missing(need, at + key)
            return None
        if value is True or value is False:
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        self.issue(need, at + key, "not a boolean", f"not a boolean: {show(value)}")
        return None

    def text(self, obj: dict, key: str, need=None, at: str = "", nonempty: bool = False) -> str | None:
        """A string. Numbers become their text (lenient fields only); objects and lists their JSON."""
        value = obj.get(key)
        if value is None:
            self._missing(need, at + key)
            return None
        if isinstance(value, str):
            if nonempty and not value.strip():
                self.issue(need, at + key, "empty", "empty string")
                return None
            return value
        if need:
            self.issue(need, at + key, "not a string", f"not a string: {show(value)}")
            return None
        return as_text(value)

    def ident(self, obj: dict, key: str, need=None, at: str = "") -> str | None:
        """A string identifier; an integer id is accepted and kept as its text."""
        value = obj.get(key)
        if value is None:
            self._missing(need, at + key)
            return None
        if isinstance(value, str):
            if not value.strip():
                self.issue(need, at + key, "empty", "empty string")
                return None
            return value
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
        self.issue(need, at + key, "not a string id", f"not a string id: {show(value)}")
        return None

    def dict(self, obj: dict, key: str, at: str = "") -> dict:
        """A nested object, or ``{}`` when missing or null (a warning when it is something else)."""
        value = obj.get(key)
        if isinstance(value, dict):
            return value
        if value is not None:
            self.warnings.append(Issue(at + key, "not an object", f"not an object: {show(value)}"))
        return {}

    def list(self, obj: dict, key: str, need=None, at: str = "") -> list:
        value = obj.get(key)
        if isinstance(value, list):
            return value
        if value is not None:
            self.issue(need, at + key, "not a list", f"not a list: {show(value)}")
        return []


def failing_field(exc: BaseException) -> str | None:
    """The field a ``Check`` getter was typing when ``exc`` was raised, read from the traceback's
    innermost getter frame (its ``at`` and ``key``); None when it broke outside a getter. Reading
    it after the fact keeps the getters, which run for every value, free of any wrapper."""
    field = None
    tb = exc.__traceback__
    while tb is not None:
        names = tb.tb_frame.f_locals
        if isinstance(names.get("self"), Check) and isinstance(names.get("key"), str):
            field = f"{names.get('at') or ''}{names['key']}"
        tb = tb.tb_next
    return field


def describe(exc: BaseException) -> str:
    """An exception for a quarantine reason: its type and message, cut to 160 characters."""
    text = f"{type(exc).__name__}: {exc}"
    return text if len(text) <= 160 else text[:157] + "..."


# -- plain coercions (None when the value cannot be typed) -------------------------------------
def to_int(value) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        result = value
    elif isinstance(value, float):
        if not value.is_integer():
            return None
        result = int(value)
    elif isinstance(value, str) and _INT_TEXT.match(value):
        result = int(value)
    else:
        return None
    return result if _INT64_MIN <= result <= _INT64_MAX else None


def to_money(value) -> Decimal | None:
    """A decimal from a JSON string (``"199.00"``) or number, never through float arithmetic.

    Numbers (refund line ``subtotal``) arrive as floats from the JSON parser; their shortest
    round-trip text is the text that was in the file for any amount below 15 digits.
    """
    if isinstance(value, str):
        if not _DECIMAL_TEXT.match(value):
            return None
        result = Decimal(value)
    elif isinstance(value, bool):
        return None
    elif isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            return None
        result = Decimal(repr(value))
    else:
        return None
    if result.as_tuple().exponent < -MONEY_SCALE:
        try:
            rounded = result.quantize(_MONEY_QUANTUM)
        except InvalidOperation:
            return None
        if rounded != result:
            return None  # more than 4 decimals: typing it would lose cents
        result = rounded
    if abs(result) >= _MONEY_LIMIT:
        return None
    return result


def epoch_to_datetime(value) -> datetime | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        if not _NUMBER_TEXT.match(value):
            return None
        value = int(value) if "." not in value else Decimal(value)
    if not isinstance(value, (int, float, Decimal)):
        return None
    try:
        if abs(value) >= MS_LIMIT:
            return None
        if abs(value) >= MS_THRESHOLD:
            return EPOCH + timedelta(milliseconds=float(value) if isinstance(value, Decimal) else value)
        return EPOCH + timedelta(seconds=float(value) if isinstance(value, Decimal) else value)
    except (OverflowError, ValueError):
        return None


def as_text(value) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value) if isinstance(value, int) else repr(value)
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()


# -- raw text and hashes -------------------------------------------------------------------------
def canonical_json(record) -> bytes:
    """The canonical bytes of a JSON record: compact, keys sorted, UTF-8."""
    return orjson.dumps(record, option=orjson.OPT_SORT_KEYS)


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def raw_and_hash(record) -> tuple[str, str]:
    """``_raw`` (the record as compact JSON, its keys in the provider's order) and ``_record_hash``
    (sha256 of the canonical form, so the same record hashes the same in any delivery)."""
    try:
        raw = orjson.dumps(record).decode()
        digest = sha256_hex(canonical_json(record))
    except TypeError:  # e.g. an integer beyond 64 bits that the JSON parser kept as an int
        import json

        raw = json.dumps(record, ensure_ascii=False, separators=(",", ":"))
        digest = sha256_hex(json.dumps(record, ensure_ascii=False, separators=(",", ":"),
                                       sort_keys=True).encode())
    return raw, digest


def bytes_to_text(data: bytes) -> str:
    """File or line bytes as text for ``raw``: UTF-8, undecodable bytes escaped (``\\xff``)."""
    return data.decode("utf-8", errors="backslashreplace")
