"""No personal data in what an activation leaves behind in logs: a dry run and a real run through
Dagster, against local SendGrid, Twilio and Shopify servers, with every Python log record (DEBUG
and up), stdout and stderr, and the Dagster event log (messages and metadata) captured. The
recipients' emails, phones, first names, recovery URLs and discount codes are in the requests the
providers received, and nowhere in those; counts and hashes are."""

from __future__ import annotations

import json
import logging

import dagster as dg
import duckdb
import pytest

from assets.activation import SEND_OP, send_campaigns
from assets.resources import (
    DataDirResource,
    PushWebhookResource,
    SendGridResource,
    ShopifyResource,
    TwilioResource,
)
from retention.activation.campaigns import CAMPAIGNS_ENV
from retention.activation.render import hashed, masked
from retention.paths import DataDir
from tests.activation_fixtures import CONFIG, NOW, audience, person
from tests.fakes.providers import FakeSendGrid, FakeTwilio
from tests.fakes.shopify_discounts import FakeShopifyDiscounts

# three recipients per campaign: win_back carries a discount code, price_drop an SMS with the
# first name, thanks an email whose data holds the checkout's recovery URL
GROUPS = {"audience_win_back": range(0, 3), "audience_price_drop": range(3, 6), "audience_thanks": range(6, 9)}


def recovery_url(i: int) -> str:
    return f"https://shop.example/checkouts/recover/r{i}t0ken"


def people(indexes) -> list[dict]:
    return [person(f"c{i}", phone=f"+1202555{i:04d}",
                   payload={"checkout_url": recovery_url(i),
                            "products": [{"product_id": 7, "title": "Blue Mug", "price": "12.00"}]})
            for i in indexes]


def warehouse_store(tmp_path, monkeypatch) -> DataDir:
    """A data directory whose warehouse holds the three audiences (real DuckDB tables), and the
    test campaigns in force."""
    layout = DataDir(tmp_path / "data")
    layout.warehouse.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(layout.warehouse)) as con:
        for name, indexes in GROUPS.items():
            frame = audience(*people(indexes))  # noqa: F841 - read by name below
            con.execute(f'create table main."{name}" as select * from frame')
    campaigns = tmp_path / "campaigns.yml"
    campaigns.write_text(CONFIG)
    monkeypatch.setenv(CAMPAIGNS_ENV, str(campaigns))
    monkeypatch.delenv("RETENTION_COUPON_SECRET", raising=False)
    return layout


@pytest.fixture
def store(tmp_path, monkeypatch) -> DataDir:
    return warehouse_store(tmp_path, monkeypatch)


def run(instance, resources, **config) -> dg.ExecuteInProcessResult:
    run_config = {"ops": {SEND_OP: {"config": {"now": NOW.isoformat(), "lease_wait_seconds": 5} | config}}}
    return dg.materialize([send_campaigns], resources=resources, instance=instance, run_config=run_config,
                          raise_on_error=False)


def event_log_text(instance, result) -> str:
    """Every event of the run, its message and metadata included, as Dagster stores it."""
    return "\n".join(dg.serialize_value(entry) for entry in instance.all_logs(result.run_id))


def test_dry_and_real_runs_log_counts_and_hashes_never_personal_data(store, caplog, capfd):
    caplog.set_level(logging.DEBUG)
    instance = dg.DagsterInstance.ephemeral()
    with FakeSendGrid() as sendgrid, FakeTwilio() as twilio, FakeShopifyDiscounts() as shop:
        resources = {"data_dir": DataDirResource(root=str(store.root)),
                     "sendgrid": SendGridResource(api_key="SG.test", api_host=sendgrid.url),
                     "twilio": TwilioResource(account_sid=twilio.account_sid, auth_token=twilio.auth_token,
                                              api_base=twilio.url),
                     "shopify": ShopifyResource(access_token=shop.access_token, api_base=shop.url),
                     "push_webhook": PushWebhookResource()}
        dry = run(instance, resources, dry_run=True)
        real = run(instance, resources)
        assert dry.success and real.success
        emails = [p for r in sendgrid.requests for p in r["body"]["personalizations"]]
        texts = [r["Body"] for r in twilio.requests]
    captured = capfd.readouterr()
    logged = "\n".join([caplog.text, captured.out, captured.err, event_log_text(instance, dry),
                        event_log_text(instance, real)])

    # what was sent carries the personal data, so its absence below means something
    codes = {p["dynamic_template_data"]["coupon_code"] for p in emails} - {None}
    urls = {p["dynamic_template_data"]["checkout_url"] for p in emails}
    assert len(emails) == 6 and len(texts) == 3 and len(codes) == 3 and len(urls) == 6
    assert all(any(f"Namec{i}," in text for text in texts) for i in GROUPS["audience_price_drop"])
    personal = {*codes, *urls}
    for i in range(9):
        personal |= {f"c{i}@example.com", f"+1202555{i:04d}", f"Namec{i}", recovery_url(i)}
    leaks = sorted(value for value in personal if value in logged)
    assert not leaks, f"personal data in logs or event metadata: {leaks}"
    # nor its URL-encoded or SMS-text forms
    assert "%2B1202555" not in logged and "is now 12.00" not in logged

    # what is there: counts, hashed customers and masked fields
    metadata = real.asset_materializations_for_node(SEND_OP)[0].metadata
    # the lease wait is a time (it takes a moment even uncontended on a loaded machine): a figure, not asserted
    assert metadata["sent"].value == 9 and metadata["lease_wait_seconds"].value >= 0
    dry_metadata = dry.asset_materializations_for_node(SEND_OP)[0].metadata
    assert json.loads(json.dumps(dry_metadata["per_campaign"].value))["win_back"]["would_send"] == 3
    assert hashed("c0") in logged and masked(recovery_url(6)) in logged
    assert "{first_name}, {product_title} is now {product_price}." in logged  # the template, not the text
