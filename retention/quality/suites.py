"""What each table must satisfy, as Great Expectations (1.x) expectation suites.

A landing suite is built once per table and reused for every day: what depends on the
partition (its time window, its trailing volume, the parent keys landed the same day) enters
as suite parameters (``{"$PARAMETER": name}``) when a partition is validated.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

import great_expectations as gx
import great_expectations.expectations as gxe
import pyarrow as pa

from retention.ingest.day import SCHEMAS
from retention.ingest.jsonl_sources import EVENT_TYPES, SUBSCRIPTION_KINDS
from retention.ingest.sendgrid_suppressions import GLOBAL_LISTS
from retention.preferences import EMAIL_FREQUENCIES

# Records may carry times up to this long before their delivery day: webhooks are retried
# for up to 72 hours (SendGrid) and file drops arrive days late. See README.md.
LATE_DATA_ALLOWANCE = timedelta(days=7)
# Provider clocks run slightly ahead of ours; a record "from the future" beyond this is wrong.
CLOCK_SKEW = timedelta(hours=1)


@dataclass(frozen=True)
class VolumeRule:
    """A day's rows against the median of the table's previous landed partitions."""

    trailing_partitions: int = 7  # a week, so weekday effects average out
    min_history: int = 3  # fewer earlier partitions: nothing to compare with yet
    min_median: int = 100  # below this, chance alone halves a count on some days (sessions cluster events)
    min_share: float = 0.5  # at or below half the median fails


VOLUME = VolumeRule()

# Landing keeps what providers send, so formats are the ones people and providers type;
# staging normalises them. Audiences (what gets sent to) must already be normalised.
EMAIL_AS_SENT = r"^\s*$|^\s*[A-Za-z0-9._%+'-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\s*$"
PHONE_AS_SENT = r"^\s*(?:\+|00)?[\s.()-]*(?:\d[\s.()-]*){7,15}$"  # 7-15 digits: normalises to E.164
EMAIL = r"^[a-z0-9._%+'-]+@[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,}$"
E164 = r"^\+[1-9]\d{6,14}$"

ISO_4217 = tuple(
    """AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD BTN BWP BYN
    BZD CAD CDF CHF CLP CNY COP CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP
    GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS KHR KMF KPW KRW KWD KYD
    KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MYR MZN NAD NGN NIO NOK
    NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE SLL SOS
    SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD TWD TZS UAH UGX USD UYU UZS VES VND VUV WST XAF
    XCD XOF XPF YER ZAR ZMW ZWL""".split()
)

# Shopify, SendGrid and Twilio's documented values.
CONSENT_STATES = ("subscribed", "not_subscribed", "unsubscribed", "pending", "redacted", "invalid")
OPT_IN_LEVELS = ("single_opt_in", "confirmed_opt_in", "unknown")
TWILIO_STATUSES = ("accepted", "scheduled", "canceled", "queued", "sending", "sent", "failed", "delivered",
                   "undelivered", "receiving", "received", "read", "partially_delivered")
SENDGRID_EVENTS = ("processed", "dropped", "delivered", "deferred", "bounce", "blocked", "open", "click",
                   "spamreport", "unsubscribe", "group_unsubscribe", "group_resubscribe")

# Columns whose values identify a person: examples from them are shown hashed, never as is.
PERSONAL_PARTS = frozenset({"email", "phone", "first", "last", "address", "city", "zip", "province", "ip", "body",
                            "comment", "note", "query", "from", "to", "raw", "useragent", "agent", "anonymous"})


def is_personal(column: str | None) -> bool:
    """Email, phone, names, addresses, free text, customer ids: by the words in the column's name."""
    if not column:
        return False
    return column == "customer_id" or bool(PERSONAL_PARTS & set(column.lower().strip("_").split("_")))


@dataclass(frozen=True)
class TableRules:
    key: tuple[str, ...]  # unique together among distinct records
    required: tuple[str, ...] = ()  # never null (the key's identity columns and what ingest requires)
    event_time: str | None = None  # must fall inside the partition's day, late-data allowance aside
    emails: tuple[str, ...] = ()
    phones: tuple[str, ...] = ()
    currencies: tuple[str, ...] = ()
    allowed: dict[str, tuple] = field(default_factory=dict)
    ranges: dict[str, tuple[int, int]] = field(default_factory=dict)
    references: tuple[tuple[str, str, str], ...] = ()  # (column, parent table of the same day, parent column)
    signed_amounts: tuple[str, ...] = ()  # money that may be negative
    volume: bool = True  # a steady daily flow, judged against the trailing days


FINANCIAL = ("pending", "authorized", "partially_paid", "paid", "partially_refunded", "refunded", "voided",
             "expired")
LINE_FULFILMENT = ("fulfilled", "partial", "restocked", "unfulfilled", "not_eligible")

RULES: dict[tuple[str, str], TableRules] = {
    ("shopify", "customers"): TableRules(
        key=("id", "updated_at"), required=("id", "created_at", "updated_at"), event_time="updated_at",
        emails=("email",), phones=("phone",), currencies=("currency",),
        allowed={"state": ("disabled", "invited", "enabled", "declined"),
                 "email_consent_state": CONSENT_STATES, "sms_consent_state": CONSENT_STATES,
                 "email_consent_opt_in_level": OPT_IN_LEVELS, "sms_consent_opt_in_level": OPT_IN_LEVELS}),
    ("shopify", "orders"): TableRules(
        key=("id", "updated_at"), required=("id", "created_at", "updated_at"), event_time="updated_at",
        emails=("email", "contact_email"), phones=("phone",), currencies=("currency", "presentment_currency"),
        allowed={"financial_status": FINANCIAL, "fulfillment_status": ("fulfilled", "partial", "restocked", "unfulfilled"),
                 "cancel_reason": ("customer", "fraud", "inventory", "declined", "staff", "other")},
        signed_amounts=("total_outstanding",)),  # negative when a customer is owed money
    ("shopify", "order_lines"): TableRules(
        key=("order_id", "line_id", "order_updated_at"), required=("order_id", "line_id", "quantity", "price"),
        event_time="order_updated_at", allowed={"fulfillment_status": LINE_FULFILMENT},
        references=(("order_id", "orders", "id"),)),
    ("shopify", "refunds"): TableRules(
        key=("id", "embedded", "order_updated_at"), required=("id", "order_id", "created_at"),
        event_time="created_at", currencies=("refund_currency",), volume=False),
    ("shopify", "refund_lines"): TableRules(
        key=("id", "refund_id", "order_updated_at"), required=("id", "refund_id"), event_time="refund_created_at",
        allowed={"restock_type": ("no_restock", "cancel", "return", "legacy_restock")},
        references=(("refund_id", "refunds", "id"),), volume=False),
    ("shopify", "fulfillments"): TableRules(
        key=("id", "embedded", "order_updated_at"), required=("id", "order_id", "created_at"),
        event_time="order_updated_at",
        allowed={"status": ("pending", "open", "success", "cancelled", "error", "failure"),
                 "shipment_status": ("label_printed", "label_purchased", "attempted_delivery", "ready_for_pickup",
                                     "picked_up", "confirmed", "in_transit", "out_for_delivery", "delivered",
                                     "failure", "carrier_picked_up", "delayed")}),
    ("shopify", "products"): TableRules(
        key=("id", "updated_at"), required=("id", "title", "created_at", "updated_at"), event_time="updated_at",
        allowed={"status": ("active", "archived", "draft")}, volume=False),  # catalogue edits come in bursts
    ("shopify", "product_variants"): TableRules(
        key=("id", "embedded", "product_updated_at"), required=("id", "price"),
        allowed={"inventory_policy": ("deny", "continue")}, volume=False),
    ("shopify", "checkouts"): TableRules(
        key=("id", "updated_at"), required=("id", "created_at", "updated_at"), event_time="updated_at",
        emails=("email",), phones=("phone", "sms_marketing_phone"), currencies=("currency", "presentment_currency")),
    ("shopify", "checkout_lines"): TableRules(
        key=("checkout_id", "position", "checkout_updated_at"), required=("checkout_id",),
        event_time="checkout_updated_at", references=(("checkout_id", "checkouts", "id"),),
        volume=False),  # follows checkouts, whose volume is judged
    # the whole location list comes with every pull: its updated_at is whenever a location last changed
    ("shopify", "locations"): TableRules(
        key=("id", "updated_at"), required=("id", "updated_at"), volume=False),
    ("shopify", "inventory_levels"): TableRules(
        key=("inventory_item_id", "location_id", "updated_at"),
        required=("inventory_item_id", "location_id", "updated_at"), event_time="updated_at",
        volume=False),  # restocks and stock-outs come in bursts
    ("shopify", "privacy_requests"): TableRules(
        key=("webhook_id",), required=("webhook_id", "topic", "shop_id"), emails=("email",), phones=("phone",),
        allowed={"topic": ("customers/data_request", "customers/redact", "shop/redact")}, volume=False),
    ("sendgrid", "events"): TableRules(
        key=("sg_event_id",), required=("sg_event_id", "event", "email", "timestamp"), event_time="timestamp",
        emails=("email",), allowed={"event": SENDGRID_EVENTS, "bounce_type": ("bounce", "blocked", "expired")},
        volume=False),  # follows the store's own sends, which come in bursts (a broadcast, a paused campaign)
    ("sendgrid", "account_events"): TableRules(
        key=("sg_event_id",), required=("sg_event_id", "event", "type", "timestamp"), event_time="timestamp",
        allowed={"event": ("account_status_change",)}, volume=False),  # rare by nature
    ("sendgrid_suppressions", "suppressions"): TableRules(
        key=("list", "email", "group_id", "snapshot_at"), required=("list", "email"), event_time="snapshot_at",
        emails=("email",), allowed={"list": (*GLOBAL_LISTS, "group_unsubscribes")}, volume=False),
    ("sendgrid_suppressions", "suppression_groups"): TableRules(
        key=("id", "snapshot_at"), required=("id",), event_time="snapshot_at", volume=False),
    ("twilio", "message_status"): TableRules(
        key=("message_sid", "status"), required=("message_sid", "status"), event_time="received_at",
        phones=("from", "to"), allowed={"status": TWILIO_STATUSES, "sms_status": TWILIO_STATUSES},
        volume=False),  # follows the store's own texts, as the email events follow its emails
    ("twilio", "inbound_messages"): TableRules(
        key=("message_sid",), required=("message_sid", "from"), event_time="received_at", phones=("from", "to"),
        allowed={"keyword_action": ("opt_out", "opt_in", "help"), "opt_out_type": ("STOP", "START", "HELP")}),
    ("web", "events"): TableRules(
        key=("event_id",), required=("event_id", "session_id", "occurred_at", "event_type"),
        event_time="occurred_at", allowed={"event_type": EVENT_TYPES}),
    ("reviews", "reviews"): TableRules(
        key=("review_id",), required=("review_id", "product_id", "created_at"), event_time="created_at",
        emails=("email",), ranges={"rating": (1, 5)}),
    ("nps", "responses"): TableRules(
        key=("response_id",), required=("response_id", "submitted_at"), event_time="submitted_at",
        emails=("email",), ranges={"score": (0, 10)}),
    ("preferences", "preferences"): TableRules(
        key=("preference_id",), required=("preference_id", "email_frequency", "submitted_at"),
        event_time="submitted_at", emails=("email",), allowed={"email_frequency": EMAIL_FREQUENCIES},
        volume=False),  # people change it now and then: no daily volume to expect
    ("subscriptions", "subscriptions"): TableRules(
        key=("subscription_id",), required=("subscription_id", "product_id", "kind", "created_at"),
        event_time="created_at", emails=("email",), allowed={"kind": SUBSCRIPTION_KINDS},
        volume=False),  # sign-ups come in bursts (a sold-out product), or not at all
}

LINEAGE_REQUIRED = ("_source_file", "_ingested_at", "_record_hash")


def suite_name(source: str, table: str) -> str:
    return f"landing.{source}.{table}"


def parameter(name: str) -> dict:
    return {"$PARAMETER": name}


def reference_parameter(column: str, parent: str) -> str:
    return f"{column}_in_{parent}"


def gx_type(arrow_type: pa.DataType) -> str | None:
    """The type name GX's pandas engine reports for a column read with nullable dtypes."""
    if pa.types.is_int64(arrow_type):
        return "int64"
    if pa.types.is_int32(arrow_type):
        return "int32"
    if pa.types.is_boolean(arrow_type):
        return "bool"
    if pa.types.is_string(arrow_type):
        return "str"
    if pa.types.is_timestamp(arrow_type):
        return "Timestamp"
    if pa.types.is_decimal(arrow_type):
        return "Decimal"
    return None  # lists of values: their shape is the parser's business


def _format_and_value_rules(rules: TableRules) -> list:
    out = [gxe.ExpectColumnValuesToMatchRegex(column=c, regex=EMAIL_AS_SENT) for c in rules.emails]
    out += [gxe.ExpectColumnValuesToMatchRegex(column=c, regex=PHONE_AS_SENT) for c in rules.phones]
    out += [gxe.ExpectColumnValuesToBeInSet(column=c, value_set=list(ISO_4217)) for c in rules.currencies]
    out += [gxe.ExpectColumnValuesToBeInSet(column=c, value_set=list(v)) for c, v in rules.allowed.items()]
    out += [gxe.ExpectColumnValuesToBeBetween(column=c, min_value=lo, max_value=hi) for c, (lo, hi) in rules.ranges.items()]
    return out


def landing_expectations(source: str, table: str) -> list:
    schema = SCHEMAS[source][table]
    rules = RULES[(source, table)]
    out: list = [gxe.ExpectTableColumnsToMatchSet(column_set=list(schema.names), exact_match=True)]
    for f in schema:
        type_name = gx_type(f.type)
        if type_name:
            out.append(gxe.ExpectColumnValuesToBeOfType(column=f.name, type_=type_name))
    for column in dict.fromkeys((*rules.required, *LINEAGE_REQUIRED)):
        out.append(gxe.ExpectColumnValuesToNotBeNull(column=column))
    if len(rules.key) == 1:
        out.append(gxe.ExpectColumnValuesToBeUnique(column=rules.key[0]))
    else:
        out.append(gxe.ExpectCompoundColumnsToBeUnique(column_list=list(rules.key)))
    out += _format_and_value_rules(rules)
    for f in schema:
        if pa.types.is_decimal(f.type) and f.name not in rules.signed_amounts:
            out.append(gxe.ExpectColumnValuesToBeBetween(column=f.name, min_value=0))
    if rules.event_time:
        out.append(gxe.ExpectColumnValuesToBeBetween(
            column=rules.event_time, min_value=parameter("window_start"), max_value=parameter("window_end")))
    for column, parent, _ in rules.references:
        out.append(gxe.ExpectColumnValuesToBeInSet(column=column, value_set=parameter(reference_parameter(column, parent))))
    out.append(gxe.ExpectTableRowCountToBeBetween(min_value=parameter("min_rows")))
    return out


# Frames that activation and the marts hand over: column names are the caller's, passed as options.
def audience_expectations(columns: list[str], key: str = "customer_key", email: str = "email",
                          phone: str = "phone", consent: tuple[str, ...] | None = None,
                          payload: str | None = None) -> list:
    """An audience to send to: keyed, contactable, consent as booleans, something to send."""
    out: list = [gxe.ExpectTableRowCountToBeBetween(min_value=1)] + mart_expectations(columns, key)
    if email in columns:
        out.append(gxe.ExpectColumnValuesToMatchRegex(column=email, regex=EMAIL))
    if phone in columns:
        out.append(gxe.ExpectColumnValuesToMatchRegex(column=phone, regex=E164))
    consent = consent if consent is not None else tuple(c for c in columns if "consent" in c)
    for column in consent:
        out.append(gxe.ExpectColumnValuesToNotBeNull(column=column))
        out.append(gxe.ExpectColumnValuesToBeInSet(column=column, value_set=[True, False]))
    if payload:
        out.append(gxe.ExpectColumnValuesToNotBeNull(column=payload))
        out.append(gxe.ExpectColumnValueLengthsToBeBetween(column=payload, min_value=1))
    return out


def mart_expectations(columns: list[str], key: str = "customer_key") -> list:
    """A mart: its key is there, never null and unique."""
    return [gxe.ExpectColumnToExist(column=key), gxe.ExpectColumnValuesToNotBeNull(column=key),
            gxe.ExpectColumnValuesToBeUnique(column=key)]


FRAME_SUITES: dict[str, Callable[..., list]] = {"audience": audience_expectations, "mart": mart_expectations}


def build_suite(name: str, expectations: list) -> gx.ExpectationSuite:
    suite = gx.ExpectationSuite(name=name)
    for expectation in expectations:
        suite.add_expectation(expectation)
    return suite
