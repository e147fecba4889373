"""The engine's decisions on a varied audience, recorded: a faster engine must make the same ones.

``scenario()`` runs the engine three times over one varied audience (missing consent and
addresses, suppressions in the warehouse and the ledger, group unsubscribes, caps and the
promotional slot across campaigns, recent orders, preferences, exits, quiet hours in several zones
and states, holdouts, a not-JSON payload, a rejected and a STOP'd send, duplicates, a deferral
carried over from its snapshot) and returns every decision: the reports' counts, the ledger's rows
and the messages sent. ``tests/data/activation/identity.json`` holds what the engine of commit
99b387c gave; it must not change.
"""

from __future__ import annotations

import json
import tempfile
from datetime import timedelta
from pathlib import Path

import pandas as pd

from retention.activation.engine import activate
from retention.activation.ledger import Ledger
from tests.activation_fixtures import NOW, audience, campaign_set, person
from tests.test_activation_engine import MemorySender, MemoryStore

EXPECTED = Path(__file__).parent / "data" / "activation" / "identity.json"
CAMPAIGNS = campaign_set(win_back={"holdout_share": 0.5}, thanks={"holdout_share": 0.2})
# when each run happens: 12:00 in New York, 22:00 there (SMS quiet hours), the next noon
RUN_TIMES = (NOW, NOW + timedelta(hours=10), NOW + timedelta(hours=20))


def varied(i: int, run: int) -> dict:
    """Customer ``i`` as the audience has them on run ``run``: each residue class a different edge."""
    key, kind = f"k{i:03d}", i % 16
    fields: dict = {"occurrence": f"o{i % 3}"}
    if kind == 1:
        fields["email_ok"] = False
    elif kind == 2:
        fields["email_reason"] = "bounce"
    elif kind == 3:
        fields["email"] = None if i % 32 == 3 else "   "  # no address, or a blank one
    elif kind == 4:
        fields["unsubscribed_groups"] = "1002,1001"
    elif kind == 5:
        fields["time_zone"] = "Asia/Tokyo"
    elif kind == 6:
        fields.update(sms_ok=False, phone=None)
    elif kind == 7:
        fields["last_order_at"] = NOW - timedelta(days=2 if i % 32 == 7 else 20)
    elif kind == 8:
        fields["email_frequency"] = "weekly" if i % 32 == 8 else "Order updates only"
    elif kind == 9:
        fields["sms_quiet_hours"] = "11:00-13:00" if i % 32 == 9 else "21:00-09:00"
    elif kind == 10:
        fields["ordered_since_trigger"] = run > 0  # ordered after the first run
    elif kind == 11:
        fields["triggered_at"] = NOW - timedelta(hours=2)  # the cart's first step waits 4 hours
    elif kind == 12:
        fields["payload"] = None
    elif kind == 13:
        fields["time_zone"] = "Mars/Olympus_Mons"  # unknown: the store's zone
    elif kind == 14:
        fields["sms_reason"] = "stop"
    person_row = person(key, **{k: v for k, v in fields.items() if k != "payload"})
    if kind == 12:
        person_row["payload"] = "{not json" if i % 32 == 12 else json.dumps({"first_name": "Ann"})
    return person_row


def frame(run: int) -> pd.DataFrame:
    """Sixty-four customers; some leave the audience after the first run (their deferrals stay),
    one row is repeated."""
    rows = [varied(i, run) for i in range(64) if run == 0 or (i % 5 != 0 and i != 9)]  # k009 is deferred
    return audience(*rows, rows[-1])


def scenario() -> dict:
    """Every decision of three runs on a fresh ledger, as JSON-able data."""
    with tempfile.TemporaryDirectory() as tmp, Ledger(Path(tmp) / "activation" / "ledger.sqlite") as ledger:
        ledger.add_suppression("sms", "k017", "stop", NOW - timedelta(days=1))
        reject = {"k021": ("dead_letter", 400, "invalid address"), "k022": ("suppressed", 400, "21610")}
        out: dict = {"runs": []}
        for run, now in enumerate(RUN_TIMES):
            sent_by = {"email": MemorySender("email", reject=reject), "sms": MemorySender("sms", reject=reject)}
            audiences = {c.audience: frame(run) for c in CAMPAIGNS}
            report = activate(CAMPAIGNS, audiences, ledger, sent_by, now, run_id=f"identity-{run}",
                              discounts=MemoryStore())
            out["runs"].append({
                "campaigns": [{k: v for k, v in c.as_dict().items() if k != "samples"} for c in report.campaigns],
                "messages": sorted([m.send_id, m.channel, m.to, m.template_id, m.body, json.dumps(m.data, sort_keys=True),
                                    m.variant] for s in sent_by.values() for m in s.received)})
        rows = ledger.rows()
        out["ledger"] = json.loads(rows.sort_values("send_id").to_json(orient="records"))
        out["dead_letters"] = sorted(ledger.dead_letters(pending_only=False)["send_id"])
        out["suppressions"] = {k: sorted(v) for k, v in ledger.suppressed_customers().items()}
        return out


def test_the_engine_decides_as_recorded():
    expected = json.loads(EXPECTED.read_text())
    got = json.loads(json.dumps(scenario()))
    for run, (want, have) in enumerate(zip(expected["runs"], got["runs"], strict=True)):
        assert have["campaigns"] == want["campaigns"], f"run {run}: the reports differ"
        assert have["messages"] == want["messages"], f"run {run}: other messages were sent"
    assert got["ledger"] == expected["ledger"]
    assert (got["dead_letters"], got["suppressions"]) == (expected["dead_letters"], expected["suppressions"])
    assert {"sent", "held_out", "dead_letter", "suppressed"} <= {row["status"] for row in got["ledger"]}
    reports = [c for run in got["runs"] for c in run["campaigns"]]
    for edge in ("deferred", "carried_over", "duplicates", "not_due", "excluded_preference", "excluded_priority",
                 "excluded_frequency_cap", "excluded_exit_condition", "excluded_recent_purchase"):
        assert sum(c[edge] for c in reports) > 0, f"the scenario no longer reaches {edge}"


# ---------------------------------------------------------------- edges of the audience


def test_an_empty_audience_decides_nothing(tmp_path):
    empty = audience(person("a")).iloc[0:0]
    with Ledger(tmp_path / "ledger.sqlite") as ledger:
        report = activate(CAMPAIGNS, {c.audience: empty for c in CAMPAIGNS}, ledger,
                          {"email": MemorySender("email"), "sms": MemorySender("sms")}, NOW, discounts=MemoryStore())
        assert ledger.rows().empty
    assert report.errors == {} and sum(c.audience for c in report.campaigns) == 0


def test_a_malformed_group_list_sets_its_row_aside_and_the_run_goes_on(tmp_path, caplog):
    """A group list that does not parse ("1002,oops"): while the row's step is not due the gate never
    reads it; once due, the row is excluded as suppressed (it may have left the group), a warning
    names the customer, and the run goes on."""
    waiting = person("bad", unsubscribed_groups="1002,oops", triggered_at=NOW - timedelta(hours=1))
    rows = audience(person("a"), waiting, person("b"))
    out = MemorySender("email")
    with Ledger(tmp_path / "ledger.sqlite") as ledger:
        report = activate(CAMPAIGNS, {"audience_cart": rows}, ledger, {"email": out}, NOW, only=["cart"])
        assert sorted(m.customer_key for m in out.received) == ["a", "b"]
        assert report.campaign("cart").not_due == 1
        later = activate(CAMPAIGNS, {"audience_cart": rows}, ledger, {"email": out}, NOW + timedelta(hours=4),
                         only=["cart"])
    assert sorted(m.customer_key for m in out.received) == ["a", "b"]
    assert later.campaign("cart").excluded["suppressed"] == 1
    assert "customer bad: email_unsubscribed_groups does not read" in caplog.text
