"""Every real provider payload in tests/data/providers (Shopify, SendGrid) parses:
it lands with typed values, or goes to quarantine with a reason naming the broken rule."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from retention.ingest import parse_file
from tests.fixtures import PROVIDER_FIXTURES as FIXTURES

# The only fixtures that break a README rule, and why.
EXPECTED_REJECTS = {
    "shopify/orders_fields_subset.json": ("orders", ["updated_at: missing", "currency: missing"]),
    "shopify/legacy_python_api/transactions.json": ("_files", ["names no known resource"]),
    "sendgrid/docs_2021/custom_args_only.json": ("events", ["event: missing", "email: missing", "timestamp: missing"]),
    "sendgrid/signed_vector.json": ("events", ["event: missing", "email: missing"]),
    "sendgrid/signed_vector_multi.json": ("events", ["event: missing", "email: missing"]),
}


def fixture_files(source: str) -> list[Path]:
    return sorted(p for p in (FIXTURES / source).rglob("*") if p.is_file() and p.suffix in (".json", ".raw"))


def parsed(source: str, rel: str):
    return parse_file(source, FIXTURES / source / rel, inbox_root=FIXTURES)


def rows(source: str, rel: str, table: str) -> list[dict]:
    return parsed(source, rel).tables[table].to_pylist()


def ts(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def test_fixtures_are_there():
    assert len(fixture_files("shopify")) == 27
    assert len(fixture_files("sendgrid")) == 30


@pytest.mark.parametrize("source", ["shopify", "sendgrid"])
def test_every_fixture_lands_or_is_quarantined_with_a_reason(source):
    for path in fixture_files(source):
        rel = path.relative_to(FIXTURES).as_posix()
        result = parse_file(source, path, inbox_root=FIXTURES)
        assert result.counts, rel
        for table, counts in result.counts.items():
            assert counts.records_in == counts.landed + counts.quarantined, (rel, table)
            assert len(result.tables.get(table, [])) == counts.landed or table == "_files"
        assert result.quarantine.num_rows == sum(c.quarantined for c in result.counts.values())
        if rel in EXPECTED_REJECTS:
            table, fragments = EXPECTED_REJECTS[rel]
            assert result.counts[table].quarantined == 1, rel
            reason = result.quarantine.column("reason")[0].as_py()
            assert all(f in reason for f in fragments), reason
            assert path.name in reason
            assert result.quarantine.column("raw")[0].as_py()  # the record, whole
        else:
            assert result.quarantine.num_rows == 0, (rel, result.examples)
            assert sum(c.landed for c in result.counts.values()) > 0, rel


def test_orders_list_typed_values():
    [order] = rows("shopify", "orders_list_status_any.json", "orders")
    assert order["id"] == 450789469
    assert order["total_price"] == Decimal("598.94")
    assert order["current_total_price"] == Decimal("199.65")
    assert order["total_tax"] == Decimal("11.94")
    assert order["created_at"] == datetime(2008, 1, 10, 16, 0, tzinfo=UTC)  # -05:00 -> UTC
    assert order["created_at"].utcoffset().total_seconds() == 0
    assert order["customer_id"] == 207119551
    assert order["currency"] == "USD"
    assert order["financial_status"] == "partially_refunded"
    assert order["checkout_token"] == "bd5a8aa1ecd019dd3520ff791ee3a24c"
    assert order["discount_codes"] == [{"code": "TENOFF", "amount": Decimal("10.00"), "type": "fixed_amount"}]
    assert order["shipping_country_code"] == "US" and order["shipping_zip"] == "40202"
    assert (order["line_item_count"], order["refund_count"], order["fulfillment_count"]) == (3, 1, 1)
    assert order["_source_file"] == "shopify/orders_list_status_any.json"
    assert order["_record_index"] == 0 and len(order["_record_hash"]) == 64
    assert '"id":450789469' in order["_raw"]


def test_order_children_carry_parent_lineage():
    result = parsed("shopify", "orders_list_status_any.json")
    [order] = result.tables["orders"].to_pylist()
    lines = result.tables["order_lines"].to_pylist()
    assert [line["line_id"] for line in lines] == [466157049, 518995019, 703073504]
    assert lines[0]["price"] == Decimal("199.00") and lines[0]["quantity"] == 1
    assert lines[0]["sku"] == "IPOD2008GREEN" and lines[0]["variant_id"] == 39072856
    assert lines[0]["discount_allocated"] == Decimal("3.34")
    [refund] = result.tables["refunds"].to_pylist()
    assert refund["id"] == 509562969 and refund["order_id"] == 450789469 and refund["embedded"] is True
    assert refund["refund_amount"] == Decimal("209.00")
    refund_lines = result.tables["refund_lines"].to_pylist()
    assert [r["subtotal"] for r in refund_lines] == [Decimal("195.66"), Decimal("195.67")]  # JSON numbers
    assert refund_lines[0]["refund_id"] == 509562969 and refund_lines[0]["line_item_id"] == 703073504
    [fulfillment] = result.tables["fulfillments"].to_pylist()
    assert fulfillment["status"] == "failure" and fulfillment["tracking_company"] == "USPS"
    for child in [*lines, refund, *refund_lines, fulfillment]:
        assert child["_record_hash"] == order["_record_hash"]
        assert child["_source_file"] == order["_source_file"] and child["_record_index"] == 0
        assert child["order_updated_at"] == order["updated_at"]


def test_guest_order_without_customer_and_empty_email():
    [order] = rows("shopify", "orders_by_ids_no_customer.json", "orders")
    assert order["customer_id"] is None
    assert order["email"] == ""
    assert order["total_price"] == Decimal("199.00")
    assert order["source_name"] == "755357713"


def test_order_variants():
    [eur] = rows("shopify", "order_create_eur.json", "orders")
    assert eur["currency"] == "EUR" and eur["total_price"] == Decimal("238.47")
    [line] = rows("shopify", "order_create_eur.json", "order_lines")
    assert (line["price"], line["quantity"], line["variant_id"]) == (Decimal("74.99"), 3, None)
    [discounted] = rows("shopify", "order_create_discount_code.json", "orders")
    assert discounted["discount_codes"] == [{"code": "FAKE30", "amount": Decimal("17.91"), "type": "percentage"}]
    [pending] = rows("shopify", "order_create_pending.json", "orders")
    assert pending["financial_status"] == "pending"
    [partial] = rows("shopify", "order_create_partially_paid.json", "orders")
    assert partial["financial_status"] == "partially_paid" and partial["customer_id"] == 1073339474


def test_cancelled_order_page_with_notice():
    result = parsed("shopify", "order_cancel_refunded.json")  # {"order": {...}, "notice": "..."}
    [order] = result.tables["orders"].to_pylist()
    assert order["cancelled_at"] == ts("2025-04-02T11:31:21-05:00")
    assert order["financial_status"] == "refunded" and order["cancel_reason"] == "other"
    assert result.counts["refund_lines"].landed == 3


def test_fields_subset_order_is_quarantined_whole():
    result = parsed("shopify", "orders_fields_subset.json")
    assert result.counts["orders"].quarantined == 1
    assert result.tables["orders"].num_rows == 0
    [reject] = result.quarantine.to_pylist()
    assert reject["table"] == "orders" and reject["record_id"] == "450789469"
    assert reject["reason"] == (
        "shopify orders record 0 of orders_fields_subset.json (id 450789469): updated_at: missing; currency: missing"
    )
    assert reject["raw"] == '{"id":450789469,"created_at":"2008-01-10T11:00:00-05:00","name":"#1001","total_price":"598.94"}'
    assert result.reasons == {"orders: updated_at: missing": 1}


def test_customers_consent_and_addresses():
    customers = rows("shopify", "customers_list.json", "customers")
    assert [c["id"] for c in customers] == [1073339462, 207119551]
    bob = customers[1]
    assert bob["tags"] == "Léon, Noël"
    assert bob["email_consent_state"] == "not_subscribed" and bob["email_consent_opt_in_level"] is None
    assert bob["email_consent_updated_at"] == ts("2004-06-13T11:57:11-04:00")
    assert bob["sms_consent_opt_in_level"] == "single_opt_in"
    assert bob["sms_consent_updated_at"] == datetime(2024, 1, 1, 12, 0, tzinfo=UTC)
    assert bob["total_spent"] == Decimal("199.65") and bob["phone"] == "+16136120707"
    assert customers[0]["default_address_country_code"] == "CA" and customers[0]["default_address_zip"] == "123 ABC"
    [single] = rows("shopify", "customer_single.json", "customers")
    assert single["created_at"] == datetime(2025, 4, 2, 16, 25, 58, tzinfo=UTC)


def test_legacy_customer_accepts_marketing():
    [legacy] = rows("shopify", "legacy_python_api/customer.json", "customers")
    assert legacy["accepts_marketing"] is False
    assert legacy["email_consent_state"] is None
    assert legacy["default_address_province_code"] == "KY"
    assert len(rows("shopify", "legacy_python_api/customers_search.json", "customers")) == 1


def test_products_and_variants():
    result = parsed("shopify", "products_list.json")
    products = result.tables["products"].to_pylist()
    assert [p["id"] for p in products] == [632910392, 921728736]
    assert products[0]["product_type"] == "Cult Products" and products[0]["tags"] == "Emotive, Flash Memory, MP3, Music"
    variants = result.tables["product_variants"].to_pylist()
    assert len(variants) == 5
    pink = variants[0]
    assert (pink["id"], pink["product_id"], pink["sku"]) == (808950810, 632910392, "IPOD2008PINK")
    assert pink["price"] == Decimal("199.00") and pink["compare_at_price"] is None
    assert pink["inventory_quantity"] == 10 and pink["embedded"] is True
    assert pink["product_updated_at"] == products[0]["updated_at"]


def test_legacy_bare_list_takes_resource_from_file_name():
    result = parsed("shopify", "legacy_python_api/products.json")  # a bare JSON list
    assert result.counts["products"].landed == 4
    assert result.tables["products"].column("title")[0].as_py() == "IPod Nano - 8GB"


def test_legacy_variants_page_lands_in_product_variants():
    variants = rows("shopify", "legacy_python_api/variants.json", "product_variants")
    assert [v["sku"] for v in variants] == ["IPOD2008PINK", "IPOD2008RED", "IPOD2008GREEN", "IPOD2008BLACK"]
    assert all(v["product_id"] is None and v["embedded"] is False for v in variants)
    assert variants[3]["inventory_quantity"] == 40


def test_legacy_transactions_is_an_unknown_resource():
    result = parsed("shopify", "legacy_python_api/transactions.json")
    assert result.counts["_files"].quarantined == 1
    [reject] = result.quarantine.to_pylist()
    assert reject["table"] == "_files" and '"authorization"' in reject["raw"]


def test_abandoned_checkouts():
    result = parsed("shopify", "abandoned_checkouts.json")
    [checkout] = result.tables["checkouts"].to_pylist()
    assert checkout["token"] == "2a1ace52255252df566af0faaedfbfa7"
    assert checkout["abandoned_checkout_url"].endswith("/recover")
    assert checkout["customer_id"] == 207119551 and checkout["completed_at"] is None
    assert checkout["total_price"] == Decimal("379.69") and checkout["buyer_accepts_sms_marketing"] is False
    assert checkout["created_at"] == datetime(2012, 10, 12, 11, 5, 27, tzinfo=UTC)
    lines = result.tables["checkout_lines"].to_pylist()
    assert [line["variant_id"] for line in lines] == [49148385, 808950810]
    assert lines[0]["checkout_token"] == checkout["token"] and lines[0]["line_price"] == Decimal("199.00")
    assert parsed("shopify", "legacy_python_api/checkouts.json").counts["checkouts"].landed == 1


def test_refund_and_fulfillment_pages():
    [refund] = rows("shopify", "refunds_list.json", "refunds")
    assert refund["embedded"] is False and refund["order_updated_at"] is None
    assert refund["created_at"] == datetime(2025, 4, 2, 16, 38, 15, tzinfo=UTC)
    lines = rows("shopify", "refunds_list.json", "refund_lines")
    assert [line["subtotal"] for line in lines] == [Decimal("195.66"), Decimal("195.67")]
    assert [line["total_tax"] for line in lines] == [Decimal("3.98"), Decimal("3.98")]
    [legacy] = rows("shopify", "legacy_python_api/refund.json", "refunds")
    assert legacy["refund_amount"] == Decimal("209.00") and legacy["refund_line_count"] == 2
    [fulfillment] = rows("shopify", "fulfillments_list.json", "fulfillments")
    assert fulfillment["tracking_numbers"] == ["1Z1234512345123456"] and fulfillment["shipment_status"] is None
    [legacy_f] = rows("shopify", "legacy_python_api/fulfillment.json", "fulfillments")
    assert legacy_f["status"] == "pending" and legacy_f["order_id"] == 450789469


# -- SendGrid ----------------------------------------------------------------------------------------
def test_sendgrid_bom_file():
    events = rows("sendgrid", "csharp_example_testdata_events_with_bom.json", "events")
    assert len(events) == 11
    assert [e["event"] for e in events][:3] == ["processed", "deferred", "delivered"]
    assert events[0]["timestamp"] == datetime(2017, 12, 15, 0, 59, 29, tzinfo=UTC)
    assert events[0]["smtp_id"] == "<14c5d75ce93.dfd.64b469@ismtpd-555>"
    assert events[1]["attempt"] == "5" and events[1]["response"] == "400 try again later"
    assert events[9]["asm_group_id"] == 10 and events[9]["event"] == "group_unsubscribe"


def test_sendgrid_millisecond_timestamp():
    [event] = rows("sendgrid", "docs_2021/singlesend_open_ms_timestamp.json", "events")
    assert event["timestamp"] == datetime(2020, 6, 9, 18, 19, 12, 372000, tzinfo=UTC)
    assert event["singlesend_id"] == "sendgrid_singlesend_id" and event["categories"] == []


def test_sendgrid_capitalised_event_and_string_timestamp():
    [event] = rows("sendgrid", "docs_2021/reserved_keys_processed.json", "events")
    assert event["event"] == "processed"
    assert event["timestamp"] == datetime(1973, 11, 29, 21, 33, 9, tzinfo=UTC)  # "123456789"
    assert event["custom_args"] == (
        '{"New Argument 1":"New Value 1","activationAttempt":"1","customerAccountNumber":"55555"}'
    )
    assert '"event":"Processed"' in event["_raw"]  # the raw keeps what was sent


def test_sendgrid_categories_string_list_empty():
    assert [e["categories"] for e in rows("sendgrid", "docs_2021/category_array.json", "events")] == [
        ["newuser", "transactional"], ["olduser"]]
    assert [e["categories"] for e in rows("sendgrid", "docs_2021/category_string.json", "events")] == [
        ["newuser"], ["olduser"]]
    [bare] = rows("sendgrid", "docs_2021/ab_test_processed_bare_object.json", "events")
    assert bare["categories"] == [] and bare["marketing_campaign_id"] == 23314
    [winner] = rows("sendgrid", "docs_2021/ab_test_winner_delivered_bare_object.json", "events")
    assert winner["smtp_id"] == "" and winner["response"] == "250 Ok "  # kept as sent


def test_sendgrid_bare_objects():
    for name in ["ab_test_processed_bare_object.json", "ab_test_winner_delivered_bare_object.json",
                 "marketing_campaign_processed_bare_object.json"]:
        result = parsed("sendgrid", f"docs_2021/{name}")
        assert result.counts["events"].landed == 1
        assert result.tables["events"].column("_record_index")[0].as_py() == 0


def test_sendgrid_fields():
    [blocked] = rows("sendgrid", "docs_2021/bounce_type_blocked.json", "events")
    assert blocked["bounce_type"] == "blocked" and blocked["status"] == "5.0.0"
    assert blocked["reason"] == "500 unknown recipient"
    [click] = rows("sendgrid", "docs_2021/click_url_offset_newsletter.json", "events")
    assert click["url"] == "http://yourdomain.com/blog/news.html" and click["asm_group_id"] == 1
    assert click["custom_args"] == '{"unique_arg_key":"unique_arg_value"}'
    [pool] = rows("sendgrid", "docs_2021/pool_processed.json", "events")
    assert pool["pool_name"] == "new_MY_test"
    [args] = rows("sendgrid", "docs_2021/unique_args_click.json", "events")
    assert args["custom_args"] == '{"template":"welcome","userid":"1123"}' and args["sg_event_id"] is None


def test_sendgrid_signed_payloads():
    events = rows("sendgrid", "signed_vector_multi_payload.raw", "events")  # CRLF between events
    assert [e["event"] for e in events] == ["processed", "bounce"]
    assert events[1]["bounce_type"] == "blocked" and events[1]["tls"] == 1 and events[1]["ip"] == "167.89.101.76"
    assert events[0]["send_at"] is None  # send_at 0 means "not scheduled"
    [dropped] = rows("sendgrid", "signed_vector_payload.raw", "events")
    assert dropped["timestamp"] == datetime.fromtimestamp(1600112492, UTC)
    assert dropped["sg_event_id"] == "ZHJvcC0xMDk5NDkxOS1MUnpYbF9OSFN0T0doUTRrb2ZTbV9BLTA"


def test_sendgrid_custom_args_only_is_quarantined():
    result = parsed("sendgrid", "docs_2021/custom_args_only.json")
    [reject] = result.quarantine.to_pylist()
    assert reject["reason"] == (
        "sendgrid events record 0 of custom_args_only.json: event: missing; email: missing; timestamp: missing")
    assert reject["raw"] == '{"userid":"1123"}'
    assert reject["_source_file"] == "sendgrid/docs_2021/custom_args_only.json"
