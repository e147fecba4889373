"""SendGrid's suppression lists reach email consent: the latest snapshot as of the run decides."""

import json
from datetime import UTC, date, datetime, timedelta

import duckdb
import pytest

from retention.ingest import ingest_day
from tests.warehouse_fixtures import build_store, run_dbt

END = date(2025, 3, 31)
FIRST, SECOND = END - timedelta(days=1), END  # the days two snapshots are delivered
# customers and what it is built from, with only the tests of those models
BUILD_CUSTOMERS = ("build", "--select", "+customers", "--indirect-selection", "cautious")


def write_snapshot(data_dir, day: date, lists: dict[str, list]) -> None:
    """A suppression-sync snapshot as the sync writes it: one folder per pull, SendGrid's bodies unchanged."""
    taken = datetime(day.year, day.month, day.day, 6, 0, tzinfo=UTC)
    folder = data_dir.inbox_day("sendgrid_suppressions", day) / taken.strftime("%Y%m%dT%H%M%SZ")
    folder.mkdir(parents=True)
    for name, body in lists.items():
        (folder / f"{name}.json").write_text(json.dumps(body))


def suppression(data_dir, email: str) -> str | None:
    return consent(data_dir, email)[0]


def consent(data_dir, email: str) -> tuple[str | None, str | None]:
    """(why all email is suppressed, the unsubscribe groups left) for one address."""
    with duckdb.connect(str(data_dir.warehouse), read_only=True) as con:
        return con.execute("select email_suppression_reason, email_unsubscribed_groups from customers where email = ?",
                           [email]).fetchall()[0]


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    data_dir = build_store(tmp_path_factory.mktemp("suppressions"), customers=150, start=date(2025, 2, 1), end=END)
    run_dbt(data_dir, *BUILD_CUSTOMERS, as_of=END)
    with duckdb.connect(str(data_dir.warehouse), read_only=True) as con:
        emails = [row[0] for row in con.execute(
            "select email from customers where email is not null and email_suppression_reason is null "
            "order by customer_key limit 3"
        ).fetchall()]
    bounced, blocked, unsubscribed = emails
    created = int(datetime(2025, 3, 20, tzinfo=UTC).timestamp())
    write_snapshot(data_dir, FIRST, {
        "bounces-0001": [{"created": created, "email": bounced.upper(), "reason": "550 5.1.1 unknown user", "status": "5.1.1"}],
        "blocks-0001": [{"created": created, "email": blocked, "reason": "451 try later", "status": "4.0.0"}],
        "group_unsubscribes-7": [unsubscribed],
    })
    # The next day SendGrid no longer lists the bounce or the group unsubscribe, and the blocked address is invalid.
    write_snapshot(data_dir, SECOND, {
        "bounces-0001": [],
        "invalid_emails-0001": [{"created": created, "email": f"  {blocked} ",
                                 "reason": "Mail domain mentioned in email address is unknown"}],
    })
    for day in (FIRST, SECOND):
        report = ingest_day(data_dir, "sendgrid_suppressions", day)
        assert report.quarantined == 0
    return data_dir, bounced, blocked, unsubscribed


def test_the_snapshot_of_the_day_suppresses_and_blocks_do_not(store):
    data_dir, bounced, blocked, unsubscribed = store
    run_dbt(data_dir, *BUILD_CUSTOMERS, as_of=FIRST)
    assert suppression(data_dir, bounced) == "bounce"  # matched after trimming and lower-casing
    # a group unsubscribe stops that group's mail only, not all email
    assert consent(data_dir, unsubscribed) == (None, "7")
    assert suppression(data_dir, blocked) is None  # a block is a temporary rejection, not a suppression


def test_a_later_snapshot_replaces_the_earlier_one(store):
    data_dir, bounced, blocked, unsubscribed = store
    run_dbt(data_dir, *BUILD_CUSTOMERS, as_of=SECOND)
    assert suppression(data_dir, blocked) == "invalid_email"
    assert suppression(data_dir, bounced) is None
    assert consent(data_dir, unsubscribed) == (None, None)  # off the group's list: rejoined
    with duckdb.connect(str(data_dir.warehouse), read_only=True) as con:
        marketable = con.execute("select is_email_marketable from customers where email = ?", [blocked]).fetchall()[0][0]
    assert marketable is False
