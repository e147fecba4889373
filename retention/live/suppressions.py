"""The daily pull of SendGrid's suppression lists, so consent in the warehouse matches the
provider even when webhooks were missed.

    summary = pull_suppressions(data_dir, day)          # SENDGRID_API_KEY, optional SENDGRID_API_HOST
    python -m retention.live.suppressions --day 2026-07-14 [--data-dir ./data]

Uses the official client (``sendgrid.SendGridAPIClient``; ``SENDGRID_API_HOST`` overrides
``https://api.sendgrid.com``). Lists, paginated with ``limit``/``offset`` until a short page:
``GET /v3/suppression/{bounces,blocks,spam_reports,invalid_emails,unsubscribes}`` (global
unsubscribes), then ``GET /v3/asm/groups`` and, per group, ``GET /v3/asm/groups/{id}/suppressions``
(a bare list of addresses, not paginated).

Layout: one snapshot folder per pull, assembled in a hidden folder and renamed into place when the
whole snapshot is on disk (ingestion never sees half a snapshot; a failed pull leaves nothing):

    inbox/sendgrid_suppressions/<day>/<YYYYMMDDTHHMMSSZ>/bounces-0001.json ...
                                                          blocks-NNNN.json, spam_reports-NNNN.json,
                                                          invalid_emails-NNNN.json, unsubscribes-NNNN.json,
                                                          asm_groups.json, group_unsubscribes-<group id>.json

Each file is a response body, unchanged. ``retention.ingest.sendgrid_suppressions`` parses them.
Retries: 429 (waits ``X-RateLimit-Reset`` when given), 5xx and connection errors, bounded, with
exponential backoff and jitter. Logs carry counts, never addresses or the key.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import shutil
import time
import urllib.error
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

from python_http_client.exceptions import HTTPError
from sendgrid import SendGridAPIClient

from retention.live.inbox_writer import fsync_dir, write_atomic
from retention.paths import DataDir

log = logging.getLogger("retention.live.suppressions")
SOURCE = "sendgrid_suppressions"
GLOBAL_LISTS = ("bounces", "blocks", "spam_reports", "invalid_emails", "unsubscribes")
DEFAULT_HOST = "https://api.sendgrid.com"


class SuppressionSyncError(RuntimeError):
    pass


@dataclass
class SuppressionConfig:
    api_key: str | None = field(default=None, repr=False)
    host: str = DEFAULT_HOST
    page_size: int = 500
    max_retries: int = 5
    backoff_base: float = 0.5
    backoff_max: float = 30.0
    timeout: float = 30.0
    groups: bool = True

    @classmethod
    def from_mapping(cls, env: Mapping[str, str], **overrides) -> SuppressionConfig:
        """From settings named after the environment variables (SENDGRID_API_KEY, SENDGRID_API_HOST)."""
        values = dict(api_key=env.get("SENDGRID_API_KEY") or None,
                      host=env.get("SENDGRID_API_HOST") or DEFAULT_HOST)
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)


@dataclass
class SuppressionSummary:
    day: date
    snapshot: str
    pages: int
    records: dict[str, int]
    groups: int
    seconds: float
    retries: int

    def as_metadata(self) -> dict:
        return {"day": self.day.isoformat(), "snapshot": self.snapshot, "pages": self.pages,
                "groups": self.groups, "seconds": round(self.seconds, 3), "retries": self.retries,
                **{f"{name}_records": n for name, n in self.records.items()}}


class _Caller:
    def __init__(self, config: SuppressionConfig, sleep):
        self.config, self.sleep, self.retries = config, sleep, 0

    def get(self, endpoint, what: str, query_params: dict | None = None) -> bytes:
        attempt = 0
        while True:
            try:
                response = endpoint.get(query_params=query_params, timeout=self.config.timeout) \
                    if query_params else endpoint.get(timeout=self.config.timeout)
                return response.body if isinstance(response.body, bytes) else str(response.body).encode()
            except HTTPError as exc:
                status = exc.status_code
                if status != 429 and status < 500 or attempt >= self.config.max_retries:
                    raise SuppressionSyncError(f"GET {what} answered {status}") from None
                wait = self._backoff(attempt)
                reset = (exc.headers or {}).get("X-RateLimit-Reset") if status == 429 else None
                if reset:
                    try:
                        wait = max(0.0, min(float(reset) - time.time(), self.config.backoff_max)) or wait
                    except ValueError:
                        pass
            except (urllib.error.URLError, OSError) as exc:
                if attempt >= self.config.max_retries:
                    raise SuppressionSyncError(f"GET {what} failed: {type(exc).__name__}") from None
                wait = self._backoff(attempt)
            self.retries += 1
            attempt += 1
            self.sleep(wait)

    def _backoff(self, attempt: int) -> float:
        cap = min(self.config.backoff_max, self.config.backoff_base * 2 ** attempt)
        return random.uniform(cap / 2, cap)


def pull_suppressions(data_dir: DataDir, day: date, config: SuppressionConfig | None = None, *,
                      sleep=time.sleep) -> SuppressionSummary:
    config = config or SuppressionConfig()
    if not config.api_key:
        raise SuppressionSyncError("SENDGRID_API_KEY is not set")
    started = time.monotonic()
    client = SendGridAPIClient(api_key=config.api_key, host=config.host).client
    caller = _Caller(config, sleep)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    day_folder = data_dir.inbox_day(SOURCE, day)
    partial = day_folder / f".{stamp}.{uuid.uuid4().hex[:8]}.partial"
    final = day_folder / stamp
    records: dict[str, int] = {}
    pages = groups = 0
    try:
        for name in GLOBAL_LISTS:
            endpoint = getattr(client.suppression, name)
            offset, number, records[name] = 0, 1, 0
            while True:
                body = caller.get(endpoint, f"/v3/suppression/{name}",
                                  {"limit": config.page_size, "offset": offset})
                entries = _json_list(body, name)
                write_atomic(partial / f"{name}-{number:04d}.json", body)
                pages += 1
                records[name] += len(entries)
                if len(entries) < config.page_size:
                    break
                offset += len(entries)
                number += 1
        if config.groups:
            body = caller.get(client.asm.groups, "/v3/asm/groups")
            group_list = _json_list(body, "asm_groups")
            write_atomic(partial / "asm_groups.json", body)
            pages += 1
            records["group_unsubscribes"] = 0
            for group in group_list:
                group_id = int(group["id"])
                body = caller.get(client.asm.groups._(str(group_id)).suppressions,
                                  "/v3/asm/groups/{id}/suppressions")
                entries = _json_list(body, "group suppressions")
                write_atomic(partial / f"group_unsubscribes-{group_id}.json", body)
                pages += 1
                groups += 1
                records["group_unsubscribes"] += len(entries)
        if final.exists():  # two pulls in the same second: keep both
            final = day_folder / f"{stamp}-{uuid.uuid4().hex[:6]}"
        os.replace(partial, final)
        fsync_dir(day_folder)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    log.info("sendgrid suppressions: %d pages, %s", pages, records)
    return SuppressionSummary(day=day, snapshot=final.relative_to(data_dir.inbox).as_posix(), pages=pages,
                              records=records, groups=groups, seconds=time.monotonic() - started,
                              retries=caller.retries)


def _json_list(body: bytes, what: str) -> list:
    try:
        doc = json.loads(body)
    except ValueError:
        raise SuppressionSyncError(f"{what}: a 200 answer that is not JSON") from None
    if not isinstance(doc, list):
        if isinstance(doc, dict) and isinstance(doc.get("result"), list):
            return doc["result"]
        raise SuppressionSyncError(f"{what}: a 200 answer that is not a JSON list")
    return doc


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m retention.live.suppressions",
                                     description="Pull SendGrid's suppression lists into the inbox.")
    parser.add_argument("--day", type=date.fromisoformat, default=datetime.now(UTC).date())
    parser.add_argument("--data-dir", help="data directory (RETENTION_DATA_DIR, default ./data)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    data_dir = DataDir(Path(args.data_dir).resolve()) if args.data_dir else DataDir.from_mapping(os.environ)
    print(json.dumps(pull_suppressions(data_dir, args.day, SuppressionConfig.from_mapping(os.environ)).as_metadata(), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
