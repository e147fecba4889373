"""Activation through Dagster, with the official clients against local SendGrid and Twilio servers:
sends go out once and land back, a killed run is finished by the next without duplicates or
omissions, the sensor launches one run per rebuild, the circuit breaker refuses implausible
audiences, and the headless command a scheduler would run works twice in a row."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from datetime import date
from pathlib import Path

import dagster as dg
import duckdb
import pandas as pd
import pytest

from assets.activation import SEND_OP
from retention.paths import DATA_DIR_ENV, DataDir
from tests.fakes.providers import FakeSendGrid, FakeTwilio, Hang
from tests.fakes.shopify_discounts import FakeShopifyDiscounts
from tests.warehouse_fixtures import PROJECT_ROOT, SENDS_READERS, build_store, run_dbt

AS_OF = date(2025, 6, 30)
NOW = "2025-07-01T17:00:00+00:00"  # the morning after, in the Americas
OP = SEND_OP
SELECT = ["--indirect-selection", "cautious", "--select", "+path:models/audiences", "+campaign_performance"]


@pytest.fixture(scope="module")
def built_store(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("activation_store")
    data_dir = build_store(root, customers=600, start=date(2025, 1, 1), end=AS_OF, seed=17)
    run_dbt(data_dir, "build", *SELECT, as_of=AS_OF)
    return root


@pytest.fixture
def store(built_store, tmp_path) -> DataDir:
    """A private copy: each test starts with an empty ledger and outbox."""
    root = tmp_path / "store"
    shutil.copytree(built_store, root, symlinks=True)
    return DataDir(root)


@pytest.fixture
def shop():
    with FakeShopifyDiscounts() as running:
        yield running


@pytest.fixture
def providers(store, shop, monkeypatch):
    with FakeSendGrid(api_key="SG.test") as sendgrid, FakeTwilio("AC" + "1" * 32, "token") as twilio:
        env = {DATA_DIR_ENV: str(store.root), "SENDGRID_API_KEY": "SG.test", "SENDGRID_API_HOST": sendgrid.url,
               "TWILIO_ACCOUNT_SID": twilio.account_sid, "TWILIO_AUTH_TOKEN": twilio.auth_token,
               "TWILIO_API_BASE": twilio.url, "SHOPIFY_ACCESS_TOKEN": shop.access_token,
               "SHOPIFY_API_BASE": shop.url}
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        yield sendgrid, twilio, env


def activate(instance=None, **config) -> dg.ExecuteInProcessResult:
    from orchestration.definitions import defs

    run_config = {"ops": {OP: {"config": {"now": NOW} | config}}}
    return defs.resolve_job_def("activate_segments").execute_in_process(
        run_config=run_config, instance=instance or dg.DagsterInstance.ephemeral(), raise_on_error=False)


def ledger_rows(store: DataDir) -> pd.DataFrame:
    with sqlite3.connect(store.activation / "ledger.sqlite") as con:
        return pd.read_sql_query("select * from sends", con)


def twilio_sids(twilio: FakeTwilio) -> list[str]:
    return [r["sid"] for r in twilio.requests]


def test_sends_go_out_once_and_land_back(store, providers, shop):
    sendgrid, twilio, _ = providers
    result = activate()
    assert result.success
    emailed = Counter(sendgrid.send_ids())
    assert emailed and max(emailed.values()) == 1
    rows = ledger_rows(store)
    sent = rows[rows["status"] == "sent"]
    assert set(sent.loc[sent["channel"] == "email", "send_id"]) == set(emailed)
    assert (sent["channel"] == "sms").sum() == len(twilio.requests) > 0
    assert len(sendgrid.requests) == -(-len(emailed) // 1000) or len(sendgrid.requests) >= 1
    # the decisions land back, with no addresses in them
    landed = pd.read_parquet(store.landing_partition("activation", "sends", date(2025, 7, 1)))
    assert set(sent["send_id"]) <= set(landed["send_id"])
    assert not {"email", "phone", "to"} & set(landed.columns)
    metadata = result.asset_materializations_for_node(OP)[0].metadata
    assert metadata["sent"].value == len(sent)

    # every discount code a message carried exists in the store, created once
    quoted = {p["dynamic_template_data"]["coupon_code"] for r in sendgrid.requests
              for p in r["body"]["personalizations"] if p.get("dynamic_template_data", {}).get("coupon_code")}
    assert quoted and {c.upper() for c in quoted} <= set(shop.codes) and shop.duplicate_code_requests == 0

    again = activate()
    assert again.success
    assert Counter(sendgrid.send_ids()) == emailed  # nothing twice
    assert again.asset_materializations_for_node(OP)[0].metadata["sent"].value == 0

    # closing the loop: the warehouse counts what went out
    run_dbt(store, "build", "--select", *SENDS_READERS, as_of=date(2025, 7, 1))
    with duckdb.connect(str(store.warehouse), read_only=True) as con:
        treated = con.sql("select count(*) from campaign_sends where status = 'sent'").fetchall()[0][0]
        performance = con.sql("select sum(sent) from campaign_performance").fetchall()[0][0]
    assert treated == performance == len(sent)


def test_suppressed_and_non_consenting_people_never_receive(store, providers):
    sendgrid, twilio, _ = providers
    assert activate().success
    with duckdb.connect(str(store.warehouse), read_only=True) as con:
        blocked = con.sql("""select email, phone, is_email_marketable, is_sms_marketable from customers""").df()
    no_email = set(blocked.loc[~blocked["is_email_marketable"], "email"].dropna())
    no_sms = set(blocked.loc[~blocked["is_sms_marketable"], "phone"].dropna())
    emailed = {to["email"] for r in sendgrid.requests for p in r["body"]["personalizations"] for to in p["to"]}
    texted = {r["To"] for r in twilio.requests}
    assert no_email and not (emailed & no_email)
    assert no_sms and not (texted & no_sms)


def test_a_killed_run_is_finished_by_the_next_without_duplicates_or_omissions(store, providers):
    sendgrid, _, env = providers
    sendgrid.script(None, None, Hang(seconds=120, accept=True))  # the third request is taken, then hangs
    code = (
        "import dagster as dg\n"
        "from orchestration.definitions import defs\n"
        f"defs.resolve_job_def('activate_segments').execute_in_process(run_config={{'ops': {{'{OP}': "
        f"{{'config': {{'now': '{NOW}', 'campaigns': ['win_back', 'review_request', 'replenishment']}}}}}}}},"
        " instance=dg.DagsterInstance.ephemeral())\n"
    )
    child = subprocess.Popen([sys.executable, "-c", code], cwd=PROJECT_ROOT,
                             env={**os.environ, **env, "SENDGRID_BATCH_SIZE": "5"}, start_new_session=True)
    try:
        deadline = time.monotonic() + 30 * 60  # waits on the third request; the bound only catches a hung run
        while sendgrid.attempts < 3 and time.monotonic() < deadline and child.poll() is None:
            time.sleep(0.2)
        assert sendgrid.attempts >= 3, "the run never reached the third request"
    finally:
        os.killpg(child.pid, signal.SIGKILL)  # dies between the provider taking the batch and the ledger write
        child.wait()
    before = ledger_rows(store)
    assert (before["status"] == "claimed").sum() >= 5  # the batch in flight is in doubt

    campaigns = ["win_back", "review_request", "replenishment"]
    # Straight after: what the provider confirms is settled, nothing is resent. A claim the provider
    # does not know yet stays in doubt (its activity feed lags), it is not sent again blindly.
    result = activate(campaigns=campaigns)
    assert result.success
    assert max(Counter(sendgrid.send_ids()).values()) == 1
    claimed = set(ledger_rows(store).query("status == 'claimed'")["send_id"])
    assert not claimed & set(sendgrid.send_ids())  # everything the provider took is settled as sent
    # An hour later the provider's silence is trusted: the rest goes out, once.
    result = activate(campaigns=campaigns, now="2025-07-01T18:00:00+00:00")
    assert result.success
    emailed = Counter(sendgrid.send_ids())
    assert max(emailed.values()) == 1  # none twice
    rows = ledger_rows(store)
    assert not (rows["status"] == "claimed").any()
    email_sent = set(rows.loc[(rows["status"] == "sent") & (rows["channel"] == "email"), "send_id"])
    assert email_sent == set(emailed)  # none forgotten
    assert claimed <= email_sent


def test_the_sensor_launches_one_run_per_rebuild(store, monkeypatch):
    from orchestration.definitions import defs

    monkeypatch.setenv(DATA_DIR_ENV, str(store.root))
    sensor = defs.resolve_sensor_def("activate_rebuilt_audiences")
    with dg.instance_for_test() as instance:
        assert isinstance(sensor(dg.build_sensor_context(instance=instance)), dg.SkipReason)
        instance.report_runless_asset_event(dg.AssetMaterialization(asset_key="audience_win_back"))
        instance.report_runless_asset_event(dg.AssetMaterialization(asset_key="audience_birthday"))
        context = dg.build_sensor_context(instance=instance)
        request = sensor(context)
        assert isinstance(request, dg.RunRequest)
        assert request.run_config["ops"][OP]["config"]["campaigns"] == ["birthday", "win_back"]
        # evaluated again with the same cursor (a retried tick): the same run key, so no second run
        assert sensor(dg.build_sensor_context(instance=instance)).run_key == request.run_key
        # with the advanced cursor there is nothing new
        assert isinstance(sensor(dg.build_sensor_context(instance=instance, cursor=context.cursor)), dg.SkipReason)
        instance.report_runless_asset_event(dg.AssetMaterialization(asset_key="audience_win_back"))
        later = sensor(dg.build_sensor_context(instance=instance, cursor=context.cursor))
        assert later.run_key != request.run_key
        assert later.run_config["ops"][OP]["config"]["campaigns"] == ["win_back"]


def test_the_breaker_refuses_an_audience_far_from_its_usual_size(store, providers):
    sendgrid, _, _ = providers
    with duckdb.connect(str(store.warehouse), read_only=True) as con:
        size = con.sql("select count(*) from audience_replenishment").fetchall()[0][0]
    with dg.instance_for_test() as instance:
        # the usual size is a third of today's: something upstream broke
        for _ in range(5):
            instance.report_runless_asset_event(dg.AssetMaterialization(
                asset_key="audience_replenishment", metadata={"dagster/row_count": size // 3}))
        instance.report_runless_asset_event(dg.AssetMaterialization(
            asset_key="audience_replenishment", metadata={"dagster/row_count": size}))
        result = activate(instance, campaigns=["replenishment", "win_back"])
    assert not result.success
    failure = result.get_step_failure_events()[0].event_specific_data
    assert "replenishment" in failure.user_failure_data.description
    assert "trailing median" in failure.user_failure_data.description
    rows = ledger_rows(store)
    assert not (rows["campaign"] == "replenishment").any()  # refused: not one decision recorded
    assert (rows["campaign"] == "win_back").any()  # the other campaign still went out

    # an engineer who has checked can override, and the override is logged
    with dg.instance_for_test() as instance:
        assert activate(instance, campaigns=["replenishment"], ignore_breaker=True).success


def test_the_breaker_refuses_when_a_check_failed_where_the_audience_was_built(store, providers):
    @dg.asset(key=["landing", "shopify", "orders"])
    def orders():
        return None

    @dg.asset(key="audience_win_back", deps=[orders])
    def audience_win_back():
        return None

    @dg.asset_check(asset=orders, name="expectations")
    def expectations():
        return dg.AssetCheckResult(passed=False, severity=dg.AssetCheckSeverity.ERROR)

    with dg.instance_for_test() as instance:
        # the run that built the audience also saw a failed landing expectation (not blocking here)
        built = dg.materialize([orders, audience_win_back, expectations], instance=instance, raise_on_error=False)
        assert built.asset_materializations_for_node("audience_win_back")
        result = activate(instance, campaigns=["win_back"])
    assert not result.success
    description = result.get_step_failure_events()[0].event_specific_data.user_failure_data.description
    assert "landing/shopify/orders expectations" in description


def test_headless_runs_send_once(store, providers, tmp_path):
    sendgrid, _, env = providers
    home = tmp_path / "dagster_home"
    home.mkdir()
    config = tmp_path / "run.yaml"
    config.write_text(json.dumps({"ops": {OP: {"config": {"now": NOW, "campaigns": ["win_back"]}}}}))
    command = [str(Path(sys.executable).with_name("dagster")), "job", "execute", "-m", "orchestration.definitions",
               "-j", "activate_segments", "-c", str(config)]
    for _ in range(2):
        done = subprocess.run(command, cwd=PROJECT_ROOT, env={**os.environ, **env, "DAGSTER_HOME": str(home)},
                              capture_output=True, text=True, timeout=30 * 60)  # only a hang hits this bound
        assert done.returncode == 0, done.stderr[-3000:]
    emailed = Counter(sendgrid.send_ids())
    assert emailed and max(emailed.values()) == 1
