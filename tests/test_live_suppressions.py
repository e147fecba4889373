"""The SendGrid suppression sync with the official client against a local server over real
HTTP: pagination, a 429 and a 500 retried, bodies landed unchanged in one snapshot folder, and the
snapshot ingested by ``retention.ingest.sendgrid_suppressions``."""

from __future__ import annotations

import json
import threading
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

from retention.ingest import ingest_day
from retention.live.suppressions import SOURCE, SuppressionConfig, SuppressionSyncError, pull_suppressions
from retention.paths import DataDir

KEY = "SG.test-key-not-a-secret"
DAY = date(2026, 7, 14)
LISTS = {
    "bounces": [{"created": 1783000000 + i, "email": f"b{i}@example.com", "reason": "550 5.1.1 unknown user",
                 "status": "5.1.1"} for i in range(5)],
    "blocks": [{"created": 1783000100, "email": "blocked@example.com", "reason": "blocked", "status": "4.0.0"}],
    "spam_reports": [{"created": 1783000200 + i, "email": f"s{i}@example.com", "ip": "10.0.0.1"} for i in range(4)],
    "invalid_emails": [],
    "unsubscribes": [{"created": 1783000300 + i, "email": f"u{i}@example.com"} for i in range(3)],
}
GROUPS = [{"id": 101, "name": "Newsletter", "description": "weekly", "is_default": True, "unsubscribes": 2,
           "last_email_sent_at": None},
          {"id": 102, "name": "Win-back", "description": "", "is_default": False, "unsubscribes": 1}]
GROUP_MEMBERS = {101: ["g1@example.com", "g2@example.com"], 102: ["g3@example.com"]}


class FakeSendGrid:
    def __init__(self):
        self.faults: dict[str, list[int]] = {}
        self.served: list[tuple[str, bytes]] = []
        self.lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):  # noqa: N802
                fake.handle(self)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    @property
    def host(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()

    def reply(self, h, status, body: bytes, headers=None):
        h.send_response(status)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            h.send_header(k, v)
        h.end_headers()
        h.wfile.write(body)

    def handle(self, h):
        if h.headers.get("Authorization") != f"Bearer {KEY}":
            return self.reply(h, 401, b'{"errors":[{"field":null,"message":"authorization required"}]}')
        parts = urlsplit(h.path)
        query = {k: int(v[0]) for k, v in parse_qs(parts.query).items()}
        with self.lock:
            pending = self.faults.get(parts.path)
            fault = pending.pop(0) if pending else None
        if fault:
            return self.reply(h, fault, b'{"errors":[{"message":"slow down"}]}',
                              {"X-RateLimit-Reset": "0"} if fault == 429 else None)
        segments = parts.path.strip("/").split("/")
        if segments[:2] == ["v3", "suppression"] and segments[2] in LISTS:
            limit, offset = query.get("limit", 500), query.get("offset", 0)
            body = json.dumps(LISTS[segments[2]][offset:offset + limit]).encode()
        elif segments == ["v3", "asm", "groups"]:
            body = json.dumps(GROUPS).encode()
        elif segments[:3] == ["v3", "asm", "groups"] and segments[4:] == ["suppressions"]:
            body = json.dumps(GROUP_MEMBERS[int(segments[3])]).encode()
        else:
            return self.reply(h, 404, b'{"errors":[{"message":"not found"}]}')
        with self.lock:
            self.served.append((h.path, body))
        self.reply(h, 200, body)


@pytest.fixture()
def fake():
    server = FakeSendGrid()
    yield server
    server.close()


def test_pull_lands_snapshot_and_ingests(tmp_path, fake):
    fake.faults["/v3/suppression/bounces"] = [429]
    fake.faults["/v3/asm/groups"] = [500]
    data_dir = DataDir(tmp_path)
    config = SuppressionConfig(api_key=KEY, host=fake.host, page_size=2, backoff_base=0.01, backoff_max=0.05)
    summary = pull_suppressions(data_dir, DAY, config)

    assert summary.records == {"bounces": 5, "blocks": 1, "spam_reports": 4, "invalid_emails": 0,
                               "unsubscribes": 3, "group_unsubscribes": 3}
    assert summary.retries == 2 and summary.groups == 2
    day_folder = data_dir.inbox_day(SOURCE, DAY)
    [snapshot] = list(day_folder.iterdir())  # no partial folder left
    names = sorted(p.name for p in snapshot.iterdir())
    assert names == sorted(["bounces-0001.json", "bounces-0002.json", "bounces-0003.json", "blocks-0001.json",
                            "spam_reports-0001.json", "spam_reports-0002.json", "spam_reports-0003.json",
                            "invalid_emails-0001.json", "unsubscribes-0001.json", "unsubscribes-0002.json",
                            "asm_groups.json", "group_unsubscribes-101.json", "group_unsubscribes-102.json"])
    assert summary.pages == len(names) == len(fake.served)
    # unchanged bytes: each file is one served body
    assert sorted(p.read_bytes() for p in snapshot.iterdir()) == sorted(body for _, body in fake.served)

    report = ingest_day(data_dir, SOURCE, DAY)
    assert report.quarantined == 0
    assert report.tables["suppressions"].landed == 5 + 1 + 4 + 3 + 3
    assert report.tables["suppression_groups"].landed == 2
    import pyarrow.parquet as pq

    rows = pq.read_table(data_dir.landing_partition(SOURCE, "suppressions", DAY)).to_pylist()
    by_list = {}
    for row in rows:
        by_list.setdefault(row["list"], set()).add(row["email"])
        assert row["snapshot_at"] is not None
    assert by_list["group_unsubscribes"] == {"g1@example.com", "g2@example.com", "g3@example.com"}
    assert {r["group_id"] for r in rows if r["list"] == "group_unsubscribes"} == {101, 102}
    assert all(r["created_at"] is not None for r in rows if r["list"] != "group_unsubscribes")


def test_failed_pull_leaves_no_snapshot(tmp_path, fake):
    fake.faults["/v3/suppression/unsubscribes"] = [503] * 10
    data_dir = DataDir(tmp_path)
    config = SuppressionConfig(api_key=KEY, host=fake.host, max_retries=2, backoff_base=0.01, backoff_max=0.02)
    with pytest.raises(SuppressionSyncError) as err:
        pull_suppressions(data_dir, DAY, config)
    assert KEY not in str(err.value)
    folder = data_dir.inbox_day(SOURCE, DAY)
    assert not folder.exists() or list(folder.iterdir()) == []


def test_wrong_key_is_refused(tmp_path, fake):
    config = SuppressionConfig(api_key="SG.wrong", host=fake.host, max_retries=0)
    with pytest.raises(SuppressionSyncError, match="401"):
        pull_suppressions(DataDir(tmp_path), DAY, config)


def test_parser_quarantines_unknown_and_bad_entries(tmp_path):
    data_dir = DataDir(tmp_path)
    snap = data_dir.inbox_day(SOURCE, DAY) / "20260714T010203Z"
    snap.mkdir(parents=True)
    (snap / "bounces-0001.json").write_text(json.dumps([{"created": 1, "email": "ok@example.com"},
                                                        {"created": 2}, 42]))
    (snap / "mystery.json").write_text("[]")
    (snap / "blocks-0001.json").write_text("{not json")
    report = ingest_day(data_dir, SOURCE, DAY)
    assert report.tables["suppressions"].landed == 1 and report.tables["suppressions"].quarantined == 2
    assert report.tables["_files"].quarantined == 2
