"""The send ledger: a database that remembers every decision about every message.

    ledger = Ledger.open(DataDir(root))               # activation/ledger.sqlite, or RETENTION_LEDGER_URL
    ledger = Ledger(path)                              # any file; ":memory:" for tests
    ledger = Ledger("postgresql://...")                # a Postgres database shared by several machines

SQLite is the embedded default; Postgres when ``RETENTION_LEDGER_URL`` names one. The logic below is
the same on both: ``ledger_db`` holds the few differences (placeholders, the single-writer lock,
the schema's types).

One row per send_id = hash(campaign, step, customer_key, occurrence). Statuses:

    claimed      written and committed BEFORE the provider request (with batch_id); a row still
                 claimed after the run is IN DOUBT until a provider lookup settles it
    sent         the provider accepted it (provider_message_id)
    outbox       no API keys: the request body went to the outbox, nothing was sent
    held_out     in the campaign's holdout; nothing sent, kept to measure lift
    deferred     quiet hours or send window; ``not_before`` says when, ``snapshot`` keeps the
                 audience row so a later run sends it even if the audience has moved on
    dead_letter  rejected for good (4xx other than 429, or a message that could not be rendered);
                 the request body is in ``dead_letters``, replayable
    suppressed   Twilio 21610 (recipient replied STOP); also added to ``suppressions``
    released     decided again by the next run: in doubt but the provider has no trace of it,
                 a dead letter queued for replay, or a deferral the gate excluded when it came due

Discount codes in the store (``discounts.CodeIssuer``): ``store_discounts`` (one per campaign,
percentage and renewal window: title, dates, the store's id) and ``store_codes`` (one per code),
each in state ``requested`` (committed BEFORE the request leaves; still there after a run means in
doubt: the next run looks it up in the store), ``created``, ``outbox`` (the request body went to
``outbox/shopify/``) or ``rejected`` (the store's reason; ``attempts`` counts refusals). Both
tables are created by ``CREATE TABLE IF NOT EXISTS`` when an older ledger is opened.

Experiments: each send records its ``variant`` (null outside an experiment and for the holdout; a
column ``ALTER TABLE``d onto an older ledger, ``ADDED_COLUMNS``), and ``experiment_winners`` holds
each decided experiment's winner with its evidence (JSON): from then on every send gets the winner.

On SQLite: WAL journal (readers never block the writer), ``synchronous=FULL`` (a committed claim
survives a power cut, which is the whole point of claiming first), a checkpoint every ~40 MB of WAL
rather than after every batch, a busy timeout for concurrent runs, and one ``BEGIN IMMEDIATE``
transaction per batch; on Postgres the same transaction holds an advisory lock instead. A claim
only takes rows that are new, deferred or released, so two runs at once cannot both claim the same
send. The ``leases`` table (``lease.RunLease``) goes further: one sending run at a time, so caps
and the daily promotional slot hold across runs too, across machines on a shared Postgres; a claim
made while holding it first checks the lease is still this run's.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

import pandas as pd

from retention.activation.lease import LEASE_SCHEMA, check_lease
from retention.activation.ledger_db import LedgerDb, connect
from retention.activation.messages import RESULT_STATUSES, SendResult
from retention.paths import DataDir
from retention.privacy.tombstones import Tombstones

LEDGER_FILE = "ledger.sqlite"
STATUSES = ("claimed", "sent", "outbox", "held_out", "deferred", "dead_letter", "suppressed", "released")
OPEN_STATUSES = ("deferred", "released")  # a new decision may overwrite these, nothing else
COUNTED_STATUSES = ("claimed", "sent", "outbox")  # count towards frequency caps
# the columns a decision writes, in the order of _row_values
UPSERT_COLUMNS = ("send_id", "campaign", "step", "customer_key", "occurrence", "channel", "status", "mode", "batch_id",
                  "decided_at", "not_before", "coupon_code", "error", "attempts", "audience_as_of", "run_id",
                  "snapshot", "variant")
CLAIM_LOOKUP_CHUNK = 500  # send_ids per "IN (...)" query when reading back a claim
EXPORT_COLUMNS = ("send_id", "campaign", "step", "customer_key", "occurrence", "channel", "status", "mode",
                  "batch_id", "decided_at", "sent_at", "not_before", "provider_message_id", "coupon_code",
                  "error", "attempts", "audience_as_of", "run_id", "variant")

SCHEMA = """
CREATE TABLE IF NOT EXISTS sends (
    send_id TEXT PRIMARY KEY,
    campaign TEXT NOT NULL,
    step INTEGER NOT NULL,
    customer_key TEXT NOT NULL,
    occurrence TEXT NOT NULL,
    channel TEXT,
    status TEXT NOT NULL,
    mode TEXT,
    batch_id TEXT,
    decided_at TEXT NOT NULL,
    sent_at TEXT,
    not_before TEXT,
    provider_message_id TEXT,
    coupon_code TEXT,
    error TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    audience_as_of TEXT,
    run_id TEXT,
    snapshot TEXT
);
CREATE INDEX IF NOT EXISTS sends_by_occurrence ON sends (campaign, customer_key, occurrence);
CREATE INDEX IF NOT EXISTS sends_by_status ON sends (status);
CREATE INDEX IF NOT EXISTS sends_by_decided_at ON sends (decided_at);
CREATE INDEX IF NOT EXISTS sends_by_sent_at ON sends (sent_at);
CREATE TABLE IF NOT EXISTS dead_letters (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    send_id TEXT NOT NULL,
    campaign TEXT NOT NULL,
    step INTEGER NOT NULL,
    customer_key TEXT NOT NULL,
    channel TEXT,
    http_status INTEGER,
    reason TEXT,
    request_body TEXT,
    created_at TEXT NOT NULL,
    replayed_at TEXT
);
CREATE INDEX IF NOT EXISTS dead_letters_pending ON dead_letters (replayed_at, campaign);
CREATE TABLE IF NOT EXISTS suppressions (
    channel TEXT NOT NULL,
    customer_key TEXT NOT NULL,
    reason TEXT,
    created_at TEXT NOT NULL,
    PRIMARY KEY (channel, customer_key)
);
CREATE TABLE IF NOT EXISTS coupons (
    code TEXT PRIMARY KEY,
    campaign TEXT NOT NULL,
    customer_key TEXT NOT NULL,
    occurrence TEXT NOT NULL,
    percent REAL,
    created_at TEXT NOT NULL,
    UNIQUE (campaign, customer_key, occurrence)
);
CREATE TABLE IF NOT EXISTS store_discounts (
    discount_key TEXT PRIMARY KEY,
    campaign TEXT NOT NULL,
    title TEXT NOT NULL,
    percent REAL NOT NULL,
    starts_at TEXT NOT NULL,
    ends_at TEXT,
    anchor_hash TEXT NOT NULL,
    state TEXT NOT NULL,
    mode TEXT NOT NULL,
    discount_id TEXT,
    error TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    requested_at TEXT NOT NULL,
    confirmed_at TEXT
);
CREATE TABLE IF NOT EXISTS store_codes (
    code TEXT PRIMARY KEY,
    discount_key TEXT NOT NULL,
    campaign TEXT NOT NULL,
    state TEXT NOT NULL,
    mode TEXT NOT NULL,
    error TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    requested_at TEXT NOT NULL,
    confirmed_at TEXT
);
CREATE INDEX IF NOT EXISTS store_codes_by_state ON store_codes (state);
CREATE TABLE IF NOT EXISTS experiment_winners (
    experiment TEXT PRIMARY KEY,
    campaign TEXT NOT NULL,
    variant TEXT NOT NULL,
    decided_at TEXT NOT NULL,
    evidence TEXT NOT NULL
);
"""
# a suppression replaces an earlier one of the same person on the channel
SUPPRESS = """INSERT INTO suppressions (channel, customer_key, reason, created_at) VALUES (?, ?, ?, ?)
              ON CONFLICT (channel, customer_key) DO UPDATE SET reason = excluded.reason,
              created_at = excluded.created_at"""
# Columns added after a table was first shipped: ALTER TABLE on an older ledger when it is opened.
ADDED_COLUMNS = {"sends": (("variant", "TEXT"),)}


def send_id_for(campaign: str, step: int, customer_key: str, occurrence: str) -> str:
    """The ledger key: the same message has the same id on every run."""
    return hashlib.sha256(f"{campaign}|{step}|{customer_key}|{occurrence}".encode()).hexdigest()[:32]


def ts(value: datetime | None) -> str | None:
    """One text format for every timestamp, so SQL comparisons are chronological."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return _utc_text(value.astimezone(UTC))


@lru_cache(maxsize=256)
def _utc_text(value: datetime) -> str:
    # a run writes the same few instants (its "now") on every row: format each once
    return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_ts(value: str | None) -> datetime | None:
    return None if value is None else datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


@dataclass(frozen=True)
class LedgerRecord:
    send_id: str
    campaign: str
    step: int
    customer_key: str
    occurrence: str
    channel: str | None
    status: str
    mode: str | None
    not_before: datetime | None
    attempts: int
    snapshot: str | None = None
    decided_at: datetime | None = None


@dataclass(frozen=True)
class RecentSend:
    customer_key: str
    channel: str
    campaign: str
    at: datetime


STORE_STATES = ("requested", "created", "outbox", "rejected")
STORE_LOOKUP_CHUNK = 500


class CouponCollisionError(RuntimeError):
    """Two different recipients got the same code; never hand one person's code to another."""


class Ledger:
    def __init__(self, path: str | Path, busy_timeout_ms: int = 30_000):
        """``path``: a SQLite file (``":memory:"`` for tests) or a ``postgresql://`` URL."""
        self.data_dir: DataDir | None = None  # set by ``open``: where the erasure tombstones' salt is
        self.conn = connect(path, busy_timeout_ms)
        self.path = self.conn.name  # the file, or the URL without its password
        self.conn.create(SCHEMA + LEASE_SCHEMA)
        self._add_columns()
        self.lease_token: str | None = None  # set while this run holds the lease (lease.RunLease)

    @classmethod
    def open(cls, data_dir: DataDir, busy_timeout_ms: int = 30_000) -> Ledger:
        ledger = cls(data_dir.ledger_url or data_dir.activation / LEDGER_FILE, busy_timeout_ms)
        ledger.data_dir = data_dir
        return ledger

    def _add_columns(self) -> None:
        with self.transaction() as conn:  # two runs opening an older ledger at once add each column once
            for table, columns in ADDED_COLUMNS.items():
                have = conn.columns(table)
                for name, kind in columns:
                    if name not in have:
                        conn.execute(f"ALTER TABLE {table} ADD COLUMN {name} {kind}")

    def erased(self) -> Tombstones | None:
        """The erasure tombstones (``retention.privacy``) the gate excludes; none for a ledger opened by path."""
        return Tombstones.load(self.data_dir) if self.data_dir else None

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[LedgerDb]:
        """One writer at a time (``ledger_db``): what a claim's exactly-once rests on."""
        with self.conn.transaction() as conn:
            yield conn

    # ------------------------------------------------------------ what the gate asks

    def status_of(self, send_id: str) -> str | None:
        row = self.conn.execute("SELECT status FROM sends WHERE send_id = ?", (send_id,)).fetchone()
        return row["status"] if row else None

    def campaign_records(self, campaign: str) -> dict[tuple[str, str], dict[int, LedgerRecord]]:
        """Every record of a campaign by (customer_key, occurrence) and step: one query per campaign."""
        records: dict[tuple[str, str], dict[int, LedgerRecord]] = {}
        query = """SELECT send_id, campaign, step, customer_key, occurrence, channel, status, mode, not_before,
                          attempts, CASE WHEN status = 'deferred' THEN snapshot END AS snapshot, decided_at
                   FROM sends WHERE campaign = ?"""
        for row in self.conn.execute(query, (campaign,)):
            record = _record(row)
            records.setdefault((record.customer_key, record.occurrence), {})[record.step] = record
        return records

    def campaigns_with_due_deferrals(self, now: datetime) -> set[str]:
        """Campaigns holding a deferral whose ``not_before`` has come (retention.activation.due)."""
        rows = self.conn.execute("SELECT DISTINCT campaign FROM sends WHERE status = 'deferred' AND not_before <= ?",
                                 (ts(now),))
        return {row["campaign"] for row in rows}

    def recent_sends(self, since: datetime) -> list[RecentSend]:
        """Sends (claimed, sent or outbox) after ``since``: what frequency caps and the daily slot count."""
        query = f"""SELECT customer_key, channel, campaign, COALESCE(sent_at, decided_at) AS at FROM sends
                    WHERE status IN {COUNTED_STATUSES} AND COALESCE(sent_at, decided_at) > ?"""
        return [RecentSend(r["customer_key"], r["channel"], r["campaign"], parse_ts(r["at"]))
                for r in self.conn.execute(query, (ts(since),))]

    def sends_in_window(self, customer_key: str, channel: str, since: datetime) -> int:
        query = f"""SELECT COUNT(*) AS n FROM sends WHERE customer_key = ? AND channel = ?
                    AND status IN {COUNTED_STATUSES} AND COALESCE(sent_at, decided_at) > ?"""
        return self.conn.execute(query, (customer_key, channel, ts(since))).fetchone()["n"]

    def sends_between(self, customer_key: str, campaigns: Iterable[str], start: datetime, end: datetime) -> int:
        """Sends of the given (promotional) campaigns to a customer in [start, end): the daily slot."""
        names = tuple(campaigns)
        if not names:
            return 0
        marks = ",".join("?" * len(names))
        query = f"""SELECT COUNT(*) AS n FROM sends WHERE customer_key = ? AND campaign IN ({marks})
                    AND status IN {COUNTED_STATUSES}
                    AND COALESCE(sent_at, decided_at) >= ? AND COALESCE(sent_at, decided_at) < ?"""
        return self.conn.execute(query, (customer_key, *names, ts(start), ts(end))).fetchone()["n"]

    def suppressed_customers(self) -> dict[str, set[str]]:
        found: dict[str, set[str]] = {}
        for row in self.conn.execute("SELECT channel, customer_key FROM suppressions"):
            found.setdefault(row["channel"], set()).add(row["customer_key"])
        return found

    # ------------------------------------------------------------ writing decisions

    def record_decisions(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """Held-out, deferred and unrenderable (dead-letter) decisions, in one transaction."""
        with self.transaction() as conn:
            self._upsert(conn, [_row_values(row, row["status"], row.get("batch_id")) for row in rows])
            for row in rows:
                if row["status"] == "dead_letter":
                    self._dead_letter(conn, row, row.get("http_status"), row.get("error"), row.get("request_body"),
                                      _decided_at(row))

    def claim(self, rows: Sequence[Mapping[str, Any]], batch_id: str) -> set[str]:
        """Claim a batch and commit before anything is sent; returns the send_ids this call claimed.

        Rows already claimed, sent or otherwise decided (by another run) are left alone and
        not returned, so the caller sends only what it owns.
        """
        send_ids = [row.get("send_id") for row in rows]
        claimed: set[str] = set()
        with self.transaction() as conn:
            if self.lease_token is not None:  # a run that lost the lease claims nothing (LeaseLost)
                check_lease(conn, self.lease_token)
            self._upsert(conn, [_row_values(row, "claimed", batch_id) for row in rows])
            # by primary key, in chunks under SQLite's parameter limit: batch_id has no index, and
            # scanning the whole table for it made every claim slower as the ledger grew
            for start in range(0, len(send_ids), CLAIM_LOOKUP_CHUNK):
                chunk = send_ids[start:start + CLAIM_LOOKUP_CHUNK]
                claimed.update(r["send_id"] for r in conn.execute(
                    f"SELECT send_id FROM sends WHERE send_id IN ({','.join('?' * len(chunk))}) "
                    "AND batch_id = ? AND status = 'claimed'", (*chunk, batch_id)))
            self._record_coupons(conn, [r for r in rows if r["send_id"] in claimed and r.get("coupon_code")])
        return claimed

    def record_results(self, results: Sequence[SendResult], now: datetime) -> None:
        """What the provider answered for a claimed batch, in one transaction. Only claimed rows
        change: a send that is not ours, or already settled, is left as it is."""
        understood = [r for r in results if r.status in RESULT_STATUSES]  # else the claim stays in doubt
        sent_at = ts(now)
        with self.transaction() as conn:
            # the common answers in one statement; dead letters and suppressions also write elsewhere
            conn.executemany(
                "UPDATE sends SET status = ?, sent_at = ?, provider_message_id = ?, error = ? "
                "WHERE send_id = ? AND status = 'claimed'",
                [(r.status, sent_at if r.status in ("sent", "outbox") else None, r.provider_message_id, r.error,
                  r.send_id) for r in understood if r.status not in ("dead_letter", "suppressed")])
            for result in (r for r in understood if r.status in ("dead_letter", "suppressed")):
                row = conn.execute("SELECT * FROM sends WHERE send_id = ? AND status = 'claimed'",
                                   (result.send_id,)).fetchone()
                if row is None:
                    continue
                conn.execute("UPDATE sends SET status = ?, sent_at = NULL, provider_message_id = ?, error = ? "
                             "WHERE send_id = ?", (result.status, result.provider_message_id, result.error,
                                                   result.send_id))
                if result.status == "dead_letter":
                    self._dead_letter(conn, dict(row), result.http_status, result.error, result.request_body,
                                      ts(now))
                else:
                    conn.execute(SUPPRESS, (row["channel"], row["customer_key"], result.error or "suppressed",
                                            ts(now)))

    def add_suppression(self, channel: str, customer_key: str, reason: str, now: datetime) -> None:
        with self.transaction() as conn:
            conn.execute(SUPPRESS, (channel, customer_key, reason, ts(now)))

    def release(self, send_ids: Iterable[str], reason: str, from_statuses: tuple[str, ...] = ("deferred",)) -> int:
        """Let the next run decide these sends again (e.g. a deferral the gate has now excluded)."""
        ids = list(send_ids)
        marks = ",".join("?" * len(from_statuses))
        with self.transaction() as conn:
            return sum(conn.execute(
                f"UPDATE sends SET status = 'released', error = ?, snapshot = NULL "
                f"WHERE send_id = ? AND status IN ({marks})", (reason, send_id, *from_statuses)).rowcount
                for send_id in ids)

    # ------------------------------------------------------------ in doubt

    def in_doubt(self, campaigns: Iterable[str] | None = None) -> list[LedgerRecord]:
        """Claims that never got an answer: the process died between claim and result."""
        rows = self.conn.execute("""SELECT send_id, campaign, step, customer_key, occurrence, channel, status, mode,
                                           not_before, attempts, NULL AS snapshot, decided_at
                                    FROM sends WHERE status = 'claimed' ORDER BY decided_at""").fetchall()
        wanted = None if campaigns is None else set(campaigns)
        return [_record(r) for r in rows if wanted is None or r["campaign"] in wanted]

    def resolve_in_doubt(self, found: Mapping[str, bool | None], modes: Mapping[str, str], now: datetime) -> int:
        """Settle claims with what the provider says: True = it has it, False = it never got it.

        ``None`` (the provider cannot tell) leaves the claim in doubt: never resent automatically.
        """
        settled = 0
        with self.transaction() as conn:
            for send_id, known in found.items():
                if known is None:
                    continue
                if known:
                    status = "outbox" if modes.get(send_id) == "outbox" else "sent"
                    cursor = conn.execute("""UPDATE sends SET status = ?, sent_at = COALESCE(sent_at, ?),
                                             error = 'confirmed by provider lookup'
                                             WHERE send_id = ? AND status = 'claimed'""", (status, ts(now), send_id))
                else:
                    cursor = conn.execute("""UPDATE sends SET status = 'released',
                                             error = 'not found by provider lookup'
                                             WHERE send_id = ? AND status = 'claimed'""", (send_id,))
                settled += cursor.rowcount
        return settled

    def release_in_doubt(self, send_ids: Iterable[str], reason: str) -> int:
        """An operator's decision that these in-doubt claims never reached the provider: the next
        run sends them. Only for claims checked by hand; the engine never does this by itself."""
        return self.release(send_ids, f"released by hand: {reason}", from_statuses=("claimed",))

    # ------------------------------------------------------------ dead letters

    def dead_letters(self, campaign: str | None = None, pending_only: bool = True) -> pd.DataFrame:
        """The replay query: rejected sends with their reason and request body, oldest first."""
        query = "SELECT * FROM dead_letters WHERE 1 = 1"
        params: list[Any] = []
        if pending_only:
            query += " AND replayed_at IS NULL"
        if campaign is not None:
            query += " AND campaign = ?"
            params.append(campaign)
        return self.conn.frame(query + " ORDER BY id", params)

    def release_dead_letters(self, now: datetime, send_ids: Iterable[str] | None = None,
                             campaign: str | None = None) -> int:
        """Queue dead letters for replay: the next run re-renders them and passes them through the gate
        again (consent may have changed since), so a fixed template or payload goes out once."""
        pending = self.dead_letters(campaign)
        if send_ids is not None:
            pending = pending[pending["send_id"].isin(set(send_ids))]
        with self.transaction() as conn:
            for send_id in pending["send_id"].unique():
                conn.execute("UPDATE dead_letters SET replayed_at = ? WHERE send_id = ? AND replayed_at IS NULL",
                             (ts(now), send_id))
                conn.execute("""UPDATE sends SET status = 'released', error = 'dead letter queued for replay'
                                WHERE send_id = ? AND status = 'dead_letter'""", (send_id,))
        return int(pending["send_id"].nunique())

    # ------------------------------------------------------------ discounts in the store

    def store_discount(self, discount_key: str) -> dict[str, Any] | None:
        row = self.conn.execute("SELECT * FROM store_discounts WHERE discount_key = ?", (discount_key,)).fetchone()
        return dict(row) if row else None

    def request_discount(self, spec, mode: str, now: datetime) -> None:
        """Before ``discountCodeBasicCreate`` leaves: committed, so a crash leaves it in doubt, not forgotten."""
        with self.transaction() as conn:
            conn.execute("""INSERT INTO store_discounts (discount_key, campaign, title, percent, starts_at, ends_at,
                                                         anchor_hash, state, mode, requested_at)
                            VALUES (?, ?, ?, ?, ?, ?, ?, 'requested', ?, ?)
                            ON CONFLICT (discount_key) DO UPDATE SET state = 'requested', mode = excluded.mode,
                                requested_at = excluded.requested_at, error = NULL""",
                         (spec.key, spec.campaign, spec.title, spec.percent, ts(spec.starts_at), ts(spec.ends_at),
                          hashlib.sha256(spec.anchor_code.encode()).hexdigest()[:16], mode, ts(now)))

    def settle_discount(self, discount_key: str, state: str, discount_id: str | None, error: str | None,
                        now: datetime) -> None:
        with self.transaction() as conn:
            conn.execute("""UPDATE store_discounts SET state = ?, discount_id = COALESCE(?, discount_id), error = ?,
                                   attempts = attempts + 1, confirmed_at = ? WHERE discount_key = ?""",
                         (state, discount_id, error, ts(now) if state != "rejected" else None, discount_key))

    def store_discount_ids(self) -> set[str]:
        return {r["discount_id"] for r in self.conn.execute("SELECT discount_id FROM store_discounts "
                                                            "WHERE state = 'created' AND discount_id IS NOT NULL")}

    def store_code_rows(self, codes: Sequence[str]) -> dict[str, dict[str, Any]]:
        found: dict[str, dict[str, Any]] = {}
        for start in range(0, len(codes), STORE_LOOKUP_CHUNK):
            chunk = list(codes[start:start + STORE_LOOKUP_CHUNK])
            for row in self.conn.execute(f"SELECT * FROM store_codes WHERE code IN ({','.join('?' * len(chunk))})",
                                         chunk):
                found[row["code"]] = dict(row)
        return found

    def request_codes(self, codes: Sequence[str], discount_key: str, campaign: str, mode: str, now: datetime) -> None:
        """Before ``discountRedeemCodeBulkAdd`` leaves: committed, so a crash leaves them in doubt."""
        with self.transaction() as conn:
            conn.executemany("""INSERT INTO store_codes (code, discount_key, campaign, state, mode, requested_at)
                                VALUES (?, ?, ?, 'requested', ?, ?)
                                ON CONFLICT (code) DO UPDATE SET state = 'requested', mode = excluded.mode,
                                    discount_key = excluded.discount_key, requested_at = excluded.requested_at,
                                    error = NULL""",
                             [(code, discount_key, campaign, mode, ts(now)) for code in codes])

    def settle_codes(self, outcomes: Mapping[str, tuple[str, str | None]], now: datetime) -> None:
        """What the store said: ``created`` / ``outbox`` / ``rejected`` (an attempt, with the reason)."""
        if not outcomes:
            return
        with self.transaction() as conn:
            conn.executemany("""UPDATE store_codes SET state = ?, error = ?, confirmed_at = ?,
                                       attempts = attempts + (CASE WHEN CAST(? AS TEXT) = 'rejected' THEN 1 ELSE 0 END)
                                WHERE code = ?""",
                             [(state, error, None if state == "rejected" else ts(now), state, code)
                              for code, (state, error) in outcomes.items()])

    def store_codes(self) -> pd.DataFrame:
        return self.conn.frame("SELECT * FROM store_codes ORDER BY requested_at, code")

    def store_discounts(self) -> pd.DataFrame:
        return self.conn.frame("SELECT * FROM store_discounts ORDER BY requested_at, discount_key")

    # ------------------------------------------------------------ experiments

    def experiment_winners(self) -> dict[str, str]:
        """experiment -> the variant everyone gets since it won."""
        return {r["experiment"]: r["variant"] for r in self.conn.execute("SELECT experiment, variant FROM "
                                                                         "experiment_winners")}

    def record_winner(self, experiment: str, campaign: str, variant: str, evidence: str, now: datetime) -> bool:
        """Record a winner once (the first decision stands); True when this call recorded it."""
        with self.transaction() as conn:
            return conn.execute("INSERT INTO experiment_winners VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                                (experiment, campaign, variant, ts(now), evidence)).rowcount == 1

    def winners(self) -> pd.DataFrame:
        return self.conn.frame("SELECT * FROM experiment_winners ORDER BY decided_at, experiment")

    # ------------------------------------------------------------ reading out

    def rows(self, campaign: str | None = None) -> pd.DataFrame:
        query = f"SELECT {', '.join(EXPORT_COLUMNS)} FROM sends"
        params: tuple = ()
        if campaign is not None:
            query += " WHERE campaign = ?"
            params = (campaign,)
        return self.conn.frame(query + " ORDER BY decided_at, send_id", params)

    def coupons(self) -> pd.DataFrame:
        return self.conn.frame("SELECT * FROM coupons ORDER BY created_at, code")

    def export_day(self, day: date) -> pd.DataFrame:
        """A UTC day's decisions and sends, to write back to the landing zone (no addresses in it)."""
        start = datetime(day.year, day.month, day.day, tzinfo=UTC)
        bounds = (ts(start), ts(start + timedelta(days=1)))
        query = f"""SELECT {', '.join(EXPORT_COLUMNS)} FROM sends
                    WHERE (decided_at >= ? AND decided_at < ?) OR (sent_at >= ? AND sent_at < ?)
                    ORDER BY decided_at, send_id"""
        frame = self.conn.frame(query, (*bounds, *bounds))
        for column in ("decided_at", "sent_at", "not_before"):
            frame[column] = pd.to_datetime(frame[column], utc=True, format="%Y-%m-%dT%H:%M:%S.%fZ")
        frame["step"] = frame["step"].astype("int64")
        frame["attempts"] = frame["attempts"].astype("int64")
        frame["variant"] = frame["variant"].astype("string")  # typed even on a day with no experiment
        return frame

    # ------------------------------------------------------------ internals

    def _upsert(self, conn: LedgerDb, values: Sequence[tuple]) -> None:
        """Write decisions given as ``_row_values`` tuples: positional parameters, because binding
        17 names per row costs more than the insert."""
        conn.executemany(f"""
            INSERT INTO sends ({', '.join(UPSERT_COLUMNS)})
            VALUES ({', '.join('?' * len(UPSERT_COLUMNS))})
            ON CONFLICT (send_id) DO UPDATE SET
                channel = excluded.channel, status = excluded.status, mode = excluded.mode,
                batch_id = excluded.batch_id, decided_at = excluded.decided_at, not_before = excluded.not_before,
                coupon_code = excluded.coupon_code, error = excluded.error,
                attempts = sends.attempts + excluded.attempts, audience_as_of = excluded.audience_as_of,
                run_id = excluded.run_id, snapshot = excluded.snapshot, variant = excluded.variant, sent_at = NULL,
                provider_message_id = NULL
            WHERE sends.status IN {OPEN_STATUSES}""", values)

    def _dead_letter(self, conn, row: Mapping[str, Any], http_status, reason, request_body, created_at: str) -> None:
        conn.execute("""INSERT INTO dead_letters (send_id, campaign, step, customer_key, channel, http_status, reason,
                                                  request_body, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                     (row["send_id"], row["campaign"], row["step"], row["customer_key"], row.get("channel"),
                      http_status, reason, request_body, created_at))

    def _record_coupons(self, conn, rows: Sequence[Mapping[str, Any]]) -> None:
        for row in rows:
            existing = conn.execute("SELECT campaign, customer_key, occurrence FROM coupons WHERE code = ?",
                                    (row["coupon_code"],)).fetchone()
            owner = (row["campaign"], row["customer_key"], row["occurrence"])
            if existing is None:
                conn.execute("""INSERT INTO coupons (code, campaign, customer_key, occurrence, percent, created_at)
                                VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING""",
                             (row["coupon_code"], *owner, row.get("coupon_percent"), _decided_at(row)))
            elif existing["customer_key"] != row["customer_key"]:
                # A code is one customer's: their referral code comes again with every ask (the row
                # of the first stays); a message code of someone else's would hand over their discount.
                raise CouponCollisionError(f"coupon code collision in campaign {row['campaign']}")


def _decided_at(row: Mapping[str, Any]) -> Any:
    decided_at = row["decided_at"]
    return ts(decided_at) if isinstance(decided_at, datetime) else decided_at


def _row_values(row: Mapping[str, Any], status: str, batch_id: str | None) -> tuple:
    """A decision with this status and batch as the upsert's parameters, in UPSERT_COLUMNS order
    (a claim passes its own status and batch instead of copying every row to change two keys)."""
    get = row.get
    decided_at = _decided_at(row)
    not_before = get("not_before")
    return (get("send_id"), get("campaign"), get("step"), get("customer_key"), get("occurrence"), get("channel"),
            status, get("mode"), batch_id, decided_at,
            ts(not_before) if isinstance(not_before, datetime) else None, get("coupon_code"), get("error"),
            1 if status == "claimed" else get("attempts") or 0, get("audience_as_of"), get("run_id"), get("snapshot"),
            get("variant"))


def _record(row: Mapping[str, Any]) -> LedgerRecord:
    return LedgerRecord(row["send_id"], row["campaign"], int(row["step"]), row["customer_key"], row["occurrence"],
                        row["channel"], row["status"], row["mode"], parse_ts(row["not_before"]),
                        int(row["attempts"]), row["snapshot"], parse_ts(row["decided_at"]))
