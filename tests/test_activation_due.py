"""The hourly activation run: which campaigns have messages due between the daily runs (deferrals
whose hour has come, broadcasts under way somewhere), and the schedule that launches it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import dagster as dg
import pytest

from retention.activation.broadcasts import local_moment_utc
from retention.activation.campaigns import CAMPAIGNS_ENV, parse_campaigns
from retention.activation.due import broadcast_is_open, due_campaigns
from retention.activation.engine import activate
from retention.activation.ledger import Ledger
from retention.activation.senders import SenderSettings, build_senders
from retention.paths import DATA_DIR_ENV, DataDir
from tests.activation_fixtures import CONFIG, audience, person

NIGHT = datetime(2026, 7, 15, 3, 0, tzinfo=UTC)  # 23:00 in New York: SMS quiet hours until 08:00 (12:00 UTC)
DUE = datetime(2026, 7, 15, 12, 0, tzinfo=UTC)
FLASH_SALE = """
  flash_sale:
    kind: promotional
    priority: 8
    channels: [email]
    email_template_id: d-flash-sale
    unsubscribe_group: 1002
    broadcast: {segment: [tier_gold], send_at: "2026-07-20 09:00"}
    steps: [{delay_hours: 0}]
"""
CAMPAIGNS = parse_campaigns(CONFIG + FLASH_SALE)
SEND_AT = datetime(2026, 7, 20, 9, 0)


@pytest.fixture
def data_dir(tmp_path) -> DataDir:
    return DataDir(tmp_path / "data")


def defer_a_price_drop(data_dir: DataDir) -> None:
    """An SMS price drop decided at night: deferred in the ledger to 08:00 in New York."""
    senders = build_senders(data_dir.outbox, SenderSettings.from_mapping({}))
    with Ledger.open(data_dir) as ledger:
        report = activate(CAMPAIGNS, {"audience_price_drop": audience(person("a", email_ok=False))}, ledger,
                          senders, NIGHT, only=["price_drop"])
        assert report.campaign("price_drop").deferred == 1


def test_a_broadcast_is_under_way_from_the_first_zone_s_moment_to_the_last_zone_s_window():
    broadcast = CAMPAIGNS.get("flash_sale").broadcast
    first = local_moment_utc(SEND_AT, "Pacific/Kiritimati", "UTC")  # UTC+14
    last = local_moment_utc(SEND_AT, "Etc/GMT+12", "UTC") + timedelta(hours=broadcast.send_within_hours)  # UTC-12
    assert first == datetime(2026, 7, 19, 19, 0, tzinfo=UTC) and last == datetime(2026, 7, 21, 21, 0, tzinfo=UTC)
    assert not broadcast_is_open(broadcast, first - timedelta(minutes=1))
    assert broadcast_is_open(broadcast, first)
    assert broadcast_is_open(broadcast, last - timedelta(minutes=1))
    assert not broadcast_is_open(broadcast, last)
    assert due_campaigns(CAMPAIGNS, set(), first) == ["flash_sale"]
    assert due_campaigns(CAMPAIGNS, set(), last) == []


def test_a_deferral_makes_its_campaign_due_from_its_not_before_until_it_is_sent(data_dir):
    defer_a_price_drop(data_dir)
    with Ledger.open(data_dir) as ledger:
        assert ledger.campaigns_with_due_deferrals(DUE - timedelta(minutes=1)) == set()
        assert ledger.campaigns_with_due_deferrals(DUE) == {"price_drop"}
        assert due_campaigns(CAMPAIGNS, ledger.campaigns_with_due_deferrals(DUE), DUE) == ["price_drop"]
        # unknown to the campaign file (removed since): not asked for
        assert due_campaigns(CAMPAIGNS, {"retired_campaign"}, DUE) == []
        senders = build_senders(data_dir.outbox, SenderSettings.from_mapping({}))
        sent = activate(CAMPAIGNS, {"audience_price_drop": audience(person("a", email_ok=False))}, ledger, senders,
                        DUE, only=["price_drop"])
        assert sent.campaign("price_drop").outbox == 1
        assert ledger.campaigns_with_due_deferrals(DUE + timedelta(hours=1)) == set()


def evaluate(now: datetime):
    from orchestration.definitions import defs, resources

    schedule = defs.resolve_schedule_def("activate_due_messages")
    context = dg.build_schedule_context(scheduled_execution_time=now, repository_def=defs.get_repository_def(),
                                        resources={"data_dir": resources["data_dir"]})
    return schedule.evaluate_tick(context)


def test_the_hourly_schedule_launches_the_due_campaigns_once_an_hour(data_dir, tmp_path, monkeypatch):
    from orchestration.definitions import defs

    campaigns_file = tmp_path / "campaigns.yml"
    campaigns_file.write_text(CONFIG + FLASH_SALE)
    monkeypatch.setenv(CAMPAIGNS_ENV, str(campaigns_file))
    monkeypatch.setenv(DATA_DIR_ENV, str(data_dir.root))
    # a data directory that never activated: no ledger, nothing due, and none created by looking
    assert "No deferral has come due" in evaluate(DUE).skip_message
    assert not data_dir.activation.exists()

    defer_a_price_drop(data_dir)
    assert evaluate(DUE - timedelta(hours=1)).skip_message
    (request,) = evaluate(DUE).run_requests
    assert request.run_config["ops"]["activation__send_campaigns"]["config"] == {"campaigns": ["price_drop"]}
    assert dg.validate_run_config(defs.resolve_job_def("activate_segments"), request.run_config)
    # a tick evaluated again within the hour asks for the same run; the next hour's is another
    assert evaluate(DUE + timedelta(minutes=30)).run_requests[0].run_key == request.run_key
    assert evaluate(DUE + timedelta(hours=1)).run_requests[0].run_key != request.run_key

    (under_way,) = evaluate(datetime(2026, 7, 20, 14, 5, tzinfo=UTC)).run_requests
    assert under_way.run_config["ops"]["activation__send_campaigns"]["config"]["campaigns"] == [
        "price_drop", "flash_sale"]
