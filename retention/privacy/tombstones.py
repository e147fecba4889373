"""Erased people, remembered only as salted hashes, so that they are never messaged again.

The table ``erased_identities`` lives in the send ledger (``activation/ledger.sqlite``): one row per
hashed identifier (``email:<normalised>``, ``phone:<E.164>``, ``shopify_customer_id:<id>``,
``customer_key:<key>``). The hash is SHA-256 over the salt and that text: without the salt, a
leaked ledger cannot be checked against a list of addresses. The salt is ``RETENTION_PRIVACY_SALT``
(passed in by the entry points through ``DataDir.privacy_salt``), else a random one created once in
``privacy/salt`` of the data directory. Changing it later orphans the tombstones: keep it.

Two readers: the activation gate (``covers_row``: reason ``erasure``) and ingestion
(``drop_erased``: a stale feed that brings an erased person back lands without them).
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import sqlite3
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import unquote_plus

import pyarrow as pa
import pyarrow.compute as pc

from retention.paths import DataDir
from retention.privacy.identity import Person, normal_email, normal_phone

LEDGER_FILE = "ledger.sqlite"  # retention.activation.ledger's file, not imported to keep this module light
SALT_FILE = "salt"
SCHEMA = """CREATE TABLE IF NOT EXISTS erased_identities (
    hash TEXT PRIMARY KEY, kind TEXT NOT NULL, request_id TEXT NOT NULL, erased_at TEXT NOT NULL)"""
_EMAILS = re.compile(r"[A-Za-z0-9._%+'-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
_PHONES = re.compile(r"\+?\d[\d\s().-]{6,}\d")
_IDS = re.compile(r"\d{6,}")


def privacy_dir(data_dir: DataDir) -> Path:
    return data_dir.root / "privacy"


def salt(data_dir: DataDir) -> bytes:
    """The configured salt, else the data directory's own (created on first use, owner-only)."""
    if data_dir.privacy_salt:
        return data_dir.privacy_salt.encode()
    path = privacy_dir(data_dir) / SALT_FILE
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process made it first: use theirs
            return path.read_bytes().strip()
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_hex(32))
    return path.read_bytes().strip()


def identifier_hash(salt_bytes: bytes, kind: str, value) -> str:
    return hashlib.sha256(salt_bytes + f"|{kind}:{value}".encode()).hexdigest()


def person_hashes(salt_bytes: bytes, person: Person) -> dict[str, str]:
    """hash -> kind, for every identifier of the person."""
    items = [("email", e) for e in person.emails] + [("phone", p) for p in person.phones] + \
            [("shopify_customer_id", i) for i in person.customer_ids] + \
            [("customer_key", k) for k in person.customer_keys]
    return {identifier_hash(salt_bytes, kind, value): kind for kind, value in items}


class Tombstones:
    """The hashes of erased identifiers, read once; empty when nobody was erased."""

    def __init__(self, salt_bytes: bytes, hashes: Iterable[str]):
        self.salt = salt_bytes
        self.hashes = frozenset(hashes)

    @classmethod
    def load(cls, data_dir: DataDir) -> Tombstones:
        path = data_dir.activation / LEDGER_FILE
        if not path.exists():
            return cls(b"", ())
        with sqlite3.connect(path) as con:
            if not con.execute("select 1 from sqlite_master where name = 'erased_identities'").fetchone():
                return cls(b"", ())
            hashes = [r[0] for r in con.execute("select hash from erased_identities")]
        return cls(salt(data_dir) if hashes else b"", hashes)

    @staticmethod
    def record(data_dir: DataDir, hashes: Mapping[str, str], request_id: str) -> None:
        data_dir.activation.mkdir(parents=True, exist_ok=True)
        con = sqlite3.connect(data_dir.activation / LEDGER_FILE, timeout=30)
        try:
            with con:
                con.execute(SCHEMA)
                now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
                con.executemany("INSERT OR IGNORE INTO erased_identities VALUES (?, ?, ?, ?)",
                                [(h, kind, request_id, now) for h, kind in hashes.items()])
        finally:
            con.close()

    def __bool__(self) -> bool:
        return bool(self.hashes)

    def _has(self, kind: str, value) -> bool:
        return value is not None and identifier_hash(self.salt, kind, value) in self.hashes

    def covers_row(self, row: Mapping) -> bool:
        """An audience row (customer_key, email, phone) of an erased person."""
        return bool(self.hashes) and (
            self._has("customer_key", row.get("customer_key")) or self._has("email", normal_email(row.get("email")))
            or self._has("phone", normal_phone(row.get("phone"))))

    def covers_text(self, text: str | None) -> bool:
        """A raw record naming an erased email, phone or customer id anywhere in it."""
        if not text or not self.hashes:
            return False
        if "%" in text:  # a form-encoded record (Twilio's): "%2B1555..." is a phone
            text = unquote_plus(text)
        return (any(self._has("email", normal_email(e)) for e in _EMAILS.findall(text))
                or any(self._has("phone", normal_phone(p)) for p in _PHONES.findall(text))
                or any(self._has("shopify_customer_id", int(i)) for i in _IDS.findall(text)))

    def drop_erased(self, landing: dict[str, pa.Table], quarantine: dict[str, pa.Table]) -> int:
        """Remove, in place, the records (and their child rows) that name an erased person; returns
        how many records were dropped. Each record's raw text is what is checked."""
        if not self.hashes:
            return 0
        erased: set[tuple[str, int]] = set()
        for tables, column in ((landing, "_raw"), (quarantine, "raw")):
            for table in tables.values():
                if column in table.column_names:
                    for raw, source_file, index in zip(table[column].to_pylist(), table["_source_file"].to_pylist(),
                                                       table["_record_index"].to_pylist(), strict=True):
                        if self.covers_text(raw):
                            erased.add((source_file, index))
        if erased:
            for tables in (landing, quarantine):
                for name, table in tables.items():
                    tables[name] = table.filter(pc.invert(_lineage_in(table, erased)))
        return len(erased)


def _lineage_in(table: pa.Table, lineage: set[tuple[str, int]]) -> pa.ChunkedArray | pa.Array:
    keys = [f"{f}\x00{-1 if i is None else i}" for f, i in lineage]
    joined = pc.binary_join_element_wise(table["_source_file"], pc.cast(pc.fill_null(table["_record_index"], -1),
                                                                        pa.string()), "\x00")
    return pc.is_in(joined, value_set=pa.array(keys, pa.string()))
