"""Where the pipeline keeps its state: everything lives under one data directory."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

DATA_DIR_ENV = "RETENTION_DATA_DIR"
PRIVACY_SALT_ENV = "RETENTION_PRIVACY_SALT"  # salts the erasure tombstones (retention.privacy)
LEDGER_URL_ENV = "RETENTION_LEDGER_URL"  # a postgresql:// URL: the send ledger on Postgres, else SQLite in the data dir


@dataclass(frozen=True)
class DataDir:
    """The layout of ``RETENTION_DATA_DIR``; copying the directory copies the whole state."""

    root: Path
    # the erasure tombstones' salt (``retention.privacy.tombstones``); empty: the data dir's own
    privacy_salt: str = field(default="", repr=False, compare=False)
    # the send ledger's Postgres database (``retention.activation.ledger_db``); empty: activation/ledger.sqlite
    ledger_url: str = field(default="", repr=False, compare=False)

    @classmethod
    def from_mapping(cls, env: Mapping[str, str], default: str | os.PathLike = "data") -> DataDir:
        """``RETENTION_DATA_DIR`` from ``env`` (a command's environment, passed by its ``main``), else ``default``."""
        return cls(Path(env.get(DATA_DIR_ENV) or default).resolve(), env.get(PRIVACY_SALT_ENV) or "",
                   env.get(LEDGER_URL_ENV) or "")

    @property
    def inbox(self) -> Path:
        return self.root / "inbox"

    @property
    def landing(self) -> Path:
        return self.root / "landing"

    @property
    def quarantine(self) -> Path:
        return self.root / "quarantine"

    @property
    def warehouse(self) -> Path:
        return self.root / "warehouse.duckdb"

    @property
    def outbox(self) -> Path:
        return self.root / "outbox"

    @property
    def activation(self) -> Path:
        """The send ledger (SQLite) and dead letters: the activation's durable memory."""
        return self.root / "activation"

    @property
    def reports(self) -> Path:
        """Pages, pictures and CSV exports for people who do not read SQL."""
        return self.root / "reports"

    @property
    def simulation(self) -> Path:
        """The simulator's ground truth: parameters and latent state, never read by ingestion."""
        return self.root / "simulation"

    @property
    def dagster_home(self) -> Path:
        return self.root / "dagster_home"

    def inbox_day(self, source: str, day: date) -> Path:
        return self.inbox / source / day.isoformat()

    def landing_partition(self, source: str, table: str, day: date) -> Path:
        return self.landing / source / table / f"date={day.isoformat()}"

    def quarantine_partition(self, source: str, table: str, day: date) -> Path:
        return self.quarantine / source / table / f"date={day.isoformat()}"
