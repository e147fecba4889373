"""Referral codes: Python (the simulator) and SQL (the warehouse, macro referral_code) derive the same
code from a customer key, and the street-address key that the self-referral check compares ignores
spacing, case and punctuation."""

from __future__ import annotations

import yaml

from retention.activation.campaigns import load_campaigns
from retention.ingest.shopify import street_address_key
from retention.referrals import REFERRAL_CODE_PREFIX, customer_key, referral_code
from tests.warehouse_fixtures import DBT_PROJECT


def test_the_prefix_is_the_warehouse_s_and_codes_are_stable():
    dbt_vars = yaml.safe_load((DBT_PROJECT / "dbt_project.yml").read_text())["vars"]
    assert dbt_vars["referral_code_prefix"] == REFERRAL_CODE_PREFIX
    # the dbt unit test referrals_accepted_and_each_rejection_reason quotes this code for customer_key adv
    assert referral_code("adv") == "FRIEND-22051B6BE4"
    assert customer_key("shopify:1") == "af31687066d32e0f152b2cf48b8b593c"  # md5, as dbt.hash (key_of)
    assert referral_code(customer_key("shopify:1")) != referral_code(customer_key("shopify:2"))


def test_the_referral_ask_creates_the_warehouse_s_codes_with_its_limit():
    """nps_promoter_referral shares the code the warehouse recognises, good as often as it credits."""
    dbt_vars = yaml.safe_load((DBT_PROJECT / "dbt_project.yml").read_text())["vars"]
    policy = load_campaigns().get("nps_promoter_referral").discount
    assert policy.code == "referral" and policy.prefix == dbt_vars["referral_code_prefix"]
    assert policy.uses == dbt_vars["referral_code_limit"]


def test_street_address_key_ignores_spacing_case_and_punctuation():
    a = {"address1": "12 Main St.", "address2": "", "zip": "40202", "country_code": "US"}
    same = {"address1": " 12  main st", "address2": None, "zip": "40 202", "country_code": "us"}
    assert street_address_key(a) == street_address_key(same)
    assert street_address_key({**a, "address2": "Apt 4"}) != street_address_key(a)
    assert street_address_key({**a, "zip": "40203"}) != street_address_key(a)
    assert street_address_key({"zip": "40202"}) is None
