"""Shopify webhook verification with Shopify's own HMAC vectors (shopify-app-js and
shopify-api-php test suites, ``tests/data/providers/shopify_graphql/webhook_hmac_vectors.json``)."""

from __future__ import annotations

import json

import pytest

from retention.live.shopify_webhooks import (
    HMAC_HEADER,
    ShopifyWebhookError,
    compute_hmac,
    hmac_matches,
    verify_webhook,
)
from tests.fixtures import PROVIDER_FIXTURES

FOLDER = PROVIDER_FIXTURES / "shopify_graphql"
VECTORS = json.loads((FOLDER / "webhook_hmac_vectors.json").read_text())["vectors"]
ACCEPTED = [v for v in VECTORS if v["expected"] == "accepted"]
REJECTED = [v for v in VECTORS if v["expected"] == "rejected"]


def headers_of(vector: dict) -> dict:
    return {**vector["other_headers"], vector["header_name"]: vector["header_value"]}


@pytest.mark.parametrize("vector", ACCEPTED, ids=lambda v: v["id"])
def test_shopifys_valid_vectors_are_accepted(vector):
    body = vector["raw_body"].encode()
    assert compute_hmac(vector["secret"], body) == vector["header_value"]
    webhook = verify_webhook(headers_of(vector), body, [vector["secret"]])
    assert webhook.topic == vector["other_headers"]["X-Shopify-Topic"]
    assert webhook.shop_domain == vector["other_headers"]["X-Shopify-Shop-Domain"]
    assert webhook.dedupe_key == vector["other_headers"].get("X-Shopify-Webhook-Id")
    assert webhook.body == body


@pytest.mark.parametrize("vector", REJECTED, ids=lambda v: v["id"])
def test_shopifys_invalid_vectors_are_rejected(vector):
    with pytest.raises(ShopifyWebhookError) as err:
        verify_webhook(headers_of(vector), vector["raw_body"].encode(), [vector["secret"]])
    # each library names it its way (invalid_hmac, InvalidWebhookException): a bad HMAC
    assert err.value.reason == "invalid_hmac" and vector["expected_reason"] in ("invalid_hmac", "InvalidWebhookException")
    assert vector["secret"] not in str(err.value)


@pytest.mark.parametrize("vector", ACCEPTED, ids=lambda v: v["id"])
def test_a_tampered_body_is_rejected(vector):
    body = vector["raw_body"].encode()
    for tampered in (body + b" ", body.replace(b"bar", b"baz"), b"", body[:-1]):
        with pytest.raises(ShopifyWebhookError, match="does not match") as err:
            verify_webhook(headers_of(vector), tampered, [vector["secret"]])
        assert err.value.reason == "invalid_hmac"


def test_the_other_librarys_secret_is_wrong_for_each_vector():
    js, php = ACCEPTED
    for vector, other in ((js, php), (php, js)):
        assert not hmac_matches(other["secret"], vector["raw_body"].encode(), vector["header_value"])
        with pytest.raises(ShopifyWebhookError):
            verify_webhook(headers_of(vector), vector["raw_body"].encode(), [other["secret"]])


def test_the_same_json_reencoded_is_not_the_signed_body():
    # shopify-app-js signs '{"foo": "bar"}', shopify-api-php '{"foo":"bar"}': verify the raw bytes
    js = ACCEPTED[0]
    compact = json.dumps(json.loads(js["raw_body"]), separators=(",", ":")).encode()
    assert compact != js["raw_body"].encode()
    with pytest.raises(ShopifyWebhookError):
        verify_webhook(headers_of(js), compact, [js["secret"]])


def test_secret_rotation_accepts_either_secret():
    js, php = ACCEPTED
    assert verify_webhook(headers_of(js), js["raw_body"].encode(), [php["secret"], js["secret"]]).topic


def test_headers_case_insensitive_and_missing_ones():
    vector = ACCEPTED[0]
    body = vector["raw_body"].encode()
    lower = {k.lower(): v for k, v in headers_of(vector).items()}
    assert verify_webhook(lower, body, [vector["secret"]]).topic == "products/create"
    no_hmac = {k: v for k, v in headers_of(vector).items() if k != HMAC_HEADER}
    with pytest.raises(ShopifyWebhookError) as err:
        verify_webhook(no_hmac, body, [vector["secret"]])
    assert err.value.reason == "missing_hmac"
    no_topic = {k: v for k, v in headers_of(vector).items() if k != "X-Shopify-Topic"}
    with pytest.raises(ShopifyWebhookError) as err:
        verify_webhook(no_topic, body, [vector["secret"]])
    assert err.value.reason == "missing_topic"
    with pytest.raises(ShopifyWebhookError) as err:
        verify_webhook(headers_of(vector), body, [])
    assert err.value.reason == "no_secret"
    # a header that is not base64 or not ASCII is just not equal
    assert not hmac_matches(vector["secret"], body, "fake") and not hmac_matches(vector["secret"], body, "sé")


@pytest.mark.parametrize("name,topic", [("webhook_customers_data_request.json", "customers/data_request"),
                                        ("webhook_customers_redact.json", "customers/redact"),
                                        ("webhook_shop_redact.json", "shop/redact")])
def test_compliance_bodies_signed_with_the_app_secret(name, topic):
    body = (FOLDER / name).read_bytes()  # Shopify's documented compliance payloads, as bytes
    secret = ACCEPTED[0]["secret"]
    headers = {HMAC_HEADER: compute_hmac(secret, body), "X-Shopify-Topic": topic,
               "X-Shopify-Shop-Domain": "{shop}.myshopify.com", "X-Shopify-Webhook-Id": f"{topic}-1"}
    webhook = verify_webhook(headers, body, [secret])
    assert webhook.is_compliance and json.loads(webhook.body)["shop_id"] == 954889
