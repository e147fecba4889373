"""Campaigns as code: load ``campaigns.yml`` and refuse anything doubtful with a clear error.

    campaigns = load_campaigns()            # the shipped file, or $RETENTION_CAMPAIGNS
    for campaign in campaigns.by_priority(): ...

Every error names the file, the campaign (or ``settings``), the field and the reason, because
a typo here decides who receives what. Unknown keys are rejected rather than ignored: a
misspelt ``holdout_shre`` must not silently mean "no holdout".
"""

from __future__ import annotations

import os
import re
import string
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from retention.activation.messages import CHANNELS
from retention.activation.webhook import INCLUDABLE, MAX_BATCH_SIZE, WebhookEndpoint
from retention.reports.segments import DEFINITIONS as SEGMENTS

CAMPAIGNS_ENV = "RETENTION_CAMPAIGNS"
SHIPPED_FILE = Path(__file__).with_name("campaigns.yml")
KINDS = ("promotional", "transactional", "internal")
KEY_PATTERN = re.compile(r"^[a-z][a-z0-9_]*$")
TEMPLATE_PATTERN = re.compile(r"^d-[A-Za-z0-9_-]+$")
EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
PHONE_PATTERN = re.compile(r"^\+[1-9][0-9]{6,14}$")
COUPON_PREFIX_PATTERN = re.compile(r"^[A-Z0-9]{1,12}$")
SMS_MAX_CHARS = 1600  # Twilio's limit for one message body
DEFAULT_DISCOUNT_EXPIRY_DAYS = 30  # how long a promised code stays valid at least
MAX_DISCOUNT_EXPIRY_DAYS = 365
DISCOUNT_CODES = ("message", "referral")  # what a campaign's discount code is (DiscountPolicy.code)
MAX_REFERRAL_USES = 1000
BROADCAST_AUDIENCE = "audience_broadcast"  # every customer with their segments (dbt)
DEFAULT_BROADCAST_HOURS = 24  # a broadcast later than this after its send_at is not sent: the sale is over
SEND_AT_FORMAT = "%Y-%m-%d %H:%M"


class CampaignConfigError(ValueError):
    """The campaign file is wrong; the message says where and why."""


@dataclass(frozen=True)
class QuietHours:
    """Local hours in which nothing is sent on a channel; ``start > end`` wraps past midnight."""

    start: time
    end: time

    def contains(self, local: time) -> bool:
        if self.start <= self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end


@dataclass(frozen=True)
class SendWindow:
    """Local hours in which a campaign may send at all (``start_hour`` inclusive, ``end_hour`` exclusive)."""

    start_hour: int
    end_hour: int

    def contains(self, local: time) -> bool:
        hour = local.hour + local.minute / 60 + local.second / 3600
        if self.start_hour < self.end_hour:
            return self.start_hour <= hour < self.end_hour
        return hour >= self.start_hour or hour < self.end_hour  # wraps past midnight


@dataclass(frozen=True)
class DiscountPolicy:
    prefix: str
    percent: float
    from_step: int = 1
    # A code stays valid in the store at least this many days after its message: the campaign's
    # store discount is renewed every expires_after_days and ends 2 x expires_after_days after
    # its window starts (see discounts.discount_spec).
    expires_after_days: int = DEFAULT_DISCOUNT_EXPIRY_DAYS
    # "message": a code per message (coupons.coupon_code). "referral": the recipient's own referral
    # code, the audience payload's referral_code (the warehouse derives it, and recognises it on
    # the friend's order), for friends to use up to `uses` times; it does not expire.
    code: str = "message"
    uses: int = 1


SEND_TIMES = ("fixed", "optimised")  # optimised: each customer's best local hour (customer_send_hours)
METRICS = ("open_rate", "click_rate", "conversion_rate")  # what an experiment's winner rule may judge


@dataclass(frozen=True)
class Variant:
    """One arm of an experiment: its share of the traffic and what it changes in the message."""

    name: str
    weight: float
    paused: bool = False  # stops being assigned; its customers are spread over the others
    subject: str | None = None  # dynamic template data ``subject``
    email_template_id: str | None = None
    sms_body: str | None = None
    discount_percent: float | None = None
    send_hour: int | None = None  # local hour the message goes out in (deferred until then)
    channel: str | None = None  # the only channel this variant uses
    send_time: str | None = None  # "optimised": each customer's best hour (customer_send_hours)


@dataclass(frozen=True)
class WinnerRule:
    """When an experiment is decided: every active variant has ``min_recipients`` recipients and
    one variant is best on ``metric`` with posterior probability >= ``probability``; after
    ``max_days`` without a winner the experiment is reported as inconclusive."""

    metric: str = "open_rate"
    min_recipients: int = 500
    probability: float = 0.9
    max_days: int = 28


@dataclass(frozen=True)
class Experiment:
    key: str  # names the experiment in the ledger and in experiment_results
    variants: tuple[Variant, ...]  # the first one is the control
    rule: WinnerRule = WinnerRule()

    @property
    def control(self) -> Variant:
        return self.variants[0]

    def variant(self, name: str | None) -> Variant | None:
        return next((v for v in self.variants if v.name == name), None)


@dataclass(frozen=True)
class Broadcast:
    """A one-off send to the members of some segments (customer_segments.segment), due at ``send_at``
    in each recipient's own time zone and not later than ``send_within_hours`` after it."""

    segments: tuple[str, ...]
    send_at: datetime  # naive: local to each recipient
    send_within_hours: float = DEFAULT_BROADCAST_HOURS


@dataclass(frozen=True)
class Step:
    number: int  # 1-based
    delay_hours: float  # after the audience row's triggered_at
    exit_when: tuple[str, ...] = ()  # names of exit_<name> columns; any true ends the sequence
    discount: bool = False
    email_template_id: str | None = None  # overrides the campaign's for this step
    sms_body: str | None = None
    subject: str | None = None  # set by a variant: the template's subject line
    experiment: Experiment | None = None  # the step's own variants, else the campaign's


@dataclass(frozen=True)
class FrequencyCap:
    max_sends: int
    window_hours: float


@dataclass(frozen=True)
class Campaign:
    key: str
    audience: str
    description: str
    channels: tuple[str, ...]  # preference order
    email_template_id: str | None
    sms_body: str | None
    steps: tuple[Step, ...]
    priority: int  # lower = more important; campaigns are processed in this order
    kind: str  # promotional | transactional | internal
    holdout_share: float
    send_window: SendWindow | None
    quiet_hours: Mapping[str, QuietHours]  # per channel; a channel absent here has none
    unsubscribe_group: int | None
    categories: tuple[str, ...]
    discount: DiscountPolicy | None
    purchase_exclusion_days: float
    internal_recipients: tuple[str, ...] = ()
    # the double opt-in request: the one SMS a subscriber awaiting confirmation may get
    confirms_sms_opt_in: bool = False
    broadcast: Broadcast | None = None  # a one-off send to segments at a local time (broadcasts.py)
    send_time: str = "fixed"  # "optimised": deferred to each customer's best local hour, when known
    webhook_include: tuple[str, ...] = ()  # personal fields (email, phone) the webhook body carries

    @property
    def is_promotional(self) -> bool:
        return self.kind == "promotional"

    @property
    def is_internal(self) -> bool:
        return self.kind == "internal"

    def step(self, number: int) -> Step:
        return self.steps[number - 1]

    def template_for(self, step: Step) -> str | None:
        return step.email_template_id or self.email_template_id

    def sms_body_for(self, step: Step) -> str | None:
        return step.sms_body or self.sms_body

    @property
    def experiments(self) -> tuple[Experiment, ...]:
        found: dict[str, Experiment] = {}
        for step in self.steps:
            if step.experiment is not None:
                found.setdefault(step.experiment.key, step.experiment)
        return tuple(found.values())


@dataclass(frozen=True)
class ListHealthLimits:
    """Above these daily rates promotional email pauses (retention/activation/list_health.py).

    Gmail and Yahoo's bulk-sender requirements (February 2024) ask for a spam rate below 0.3% as
    reported to them; 2% hard bounces is the usual line beyond which providers start to block.
    """

    max_spam_rate: float = 0.003
    max_bounce_rate: float = 0.02
    min_delivered: int = 100  # fewer deliveries in a day: too few to judge a rate by


@dataclass(frozen=True)
class Settings:
    store_time_zone: str = "UTC"
    from_email: str | None = None
    from_name: str | None = None
    from_number: str | None = None
    frequency_caps: Mapping[str, FrequencyCap] = field(
        default_factory=lambda: {"email": FrequencyCap(1, 16.0), "sms": FrequencyCap(1, 24.0),
                                 "webhook": FrequencyCap(1, 16.0)})
    promotional_per_day: int = 1
    quiet_hours: Mapping[str, QuietHours] = field(
        default_factory=lambda: {"sms": QuietHours(time(21), time(8)), "webhook": QuietHours(time(21), time(8))})
    list_health: ListHealthLimits = ListHealthLimits()
    webhook: WebhookEndpoint = WebhookEndpoint()  # the push channel's endpoint; none = its outbox


@dataclass(frozen=True)
class CampaignSet:
    settings: Settings
    campaigns: tuple[Campaign, ...]
    source: str = "<memory>"

    def __iter__(self) -> Iterator[Campaign]:
        return iter(self.campaigns)

    def __len__(self) -> int:
        return len(self.campaigns)

    def keys(self) -> list[str]:
        return [c.key for c in self.campaigns]

    def get(self, key: str) -> Campaign:
        for campaign in self.campaigns:
            if campaign.key == key:
                return campaign
        raise KeyError(f"no campaign {key!r} in {self.source}")

    def by_priority(self) -> list[Campaign]:
        return sorted(self.campaigns, key=lambda c: (c.priority, c.key))

    def experiments(self) -> list[tuple[Campaign, Experiment]]:
        return [(c, e) for c in self.campaigns for e in c.experiments]


# ---------------------------------------------------------------- loading


class _UniqueKeyLoader(yaml.SafeLoader):
    """PyYAML keeps the last of two equal keys; a duplicated campaign must be an error instead."""


def _construct_unique_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode, deep: bool = False):
    seen: set = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise CampaignConfigError(f"duplicate key {key!r} at line {key_node.start_mark.line + 1}")
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_unique_mapping)


def load_campaigns(path: str | os.PathLike | None = None) -> CampaignSet:
    """Read and validate a campaign file (``None``: ``$RETENTION_CAMPAIGNS`` or the shipped file)."""
    path = Path(path or os.environ.get(CAMPAIGNS_ENV) or SHIPPED_FILE)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise CampaignConfigError(f"{path}: cannot read the campaign file ({exc.strerror})") from None
    return parse_campaigns(text, source=str(path))


def parse_campaigns(text: str, source: str = "<string>") -> CampaignSet:
    try:
        document = yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass
    except CampaignConfigError as exc:
        raise CampaignConfigError(f"{source}: {exc}") from None
    except yaml.YAMLError as exc:
        raise CampaignConfigError(f"{source}: not valid YAML ({exc})") from None
    return _Validator(source).campaign_set(document)


class _Validator:
    def __init__(self, source: str):
        self.source = source
        self.experiment_keys: set[str] = set()

    def fail(self, where: str, field_name: str, reason: str):
        raise CampaignConfigError(f"{self.source}: {where}, field '{field_name}': {reason}")

    # -- generic checks

    def mapping(self, value, where: str, field_name: str, allowed: set[str], required: set[str] = frozenset()):
        if not isinstance(value, dict):
            self.fail(where, field_name, f"expected a mapping, got {type(value).__name__}")
        for key in value:
            if key not in allowed:
                self.fail(where, f"{field_name}.{key}" if field_name else str(key),
                          f"unknown key (allowed: {', '.join(sorted(allowed))})")
        for key in required:
            if key not in value:
                self.fail(where, f"{field_name}.{key}" if field_name else key, "is required")
        return value

    def integer(self, value, where, name, minimum=None, maximum=None) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(where, name, f"expected an integer, got {value!r}")
        self.in_range(value, where, name, minimum, maximum)
        return value

    def number(self, value, where, name, minimum=None, maximum=None) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            self.fail(where, name, f"expected a number, got {value!r}")
        self.in_range(value, where, name, minimum, maximum)
        return float(value)

    def in_range(self, value, where, name, minimum, maximum):
        if minimum is not None and value < minimum:
            self.fail(where, name, f"{value!r} is below the minimum {minimum}")
        if maximum is not None and value > maximum:
            self.fail(where, name, f"{value!r} is above the maximum {maximum}")

    def text(self, value, where, name, pattern: re.Pattern | None = None, what: str = "") -> str:
        if not isinstance(value, str) or not value.strip():
            self.fail(where, name, f"expected a non-empty string, got {value!r}")
        if pattern is not None and not pattern.match(value):
            self.fail(where, name, f"{value!r} is not {what or 'valid'}")
        return value

    def boolean(self, value, where, name) -> bool:
        if not isinstance(value, bool):
            self.fail(where, name, f"expected true or false, got {value!r}")
        return value

    def string_list(self, value, where, name, pattern=None, what="") -> tuple[str, ...]:
        if not isinstance(value, list):
            self.fail(where, name, f"expected a list, got {type(value).__name__}")
        items = tuple(self.text(item, where, name, pattern, what) for item in value)
        if len(set(items)) != len(items):
            self.fail(where, name, "lists the same value twice")
        return items

    def clock(self, value, where, name) -> time:
        if not isinstance(value, str) or not re.match(r"^([01][0-9]|2[0-3]):[0-5][0-9]$", value):
            self.fail(where, name, f"expected a local time \"HH:MM\", got {value!r}")
        hour, minute = value.split(":")
        return time(int(hour), int(minute))

    def quiet_hours(self, value, where, name) -> dict[str, QuietHours]:
        self.mapping(value, where, name, set(CHANNELS))
        hours: dict[str, QuietHours] = {}
        for channel, spec in value.items():
            if spec is None:  # explicitly none for this channel
                continue
            self.mapping(spec, where, f"{name}.{channel}", {"start", "end"}, {"start", "end"})
            quiet = QuietHours(self.clock(spec["start"], where, f"{name}.{channel}.start"),
                               self.clock(spec["end"], where, f"{name}.{channel}.end"))
            if quiet.start == quiet.end:
                self.fail(where, f"{name}.{channel}", "start and end are equal")
            hours[channel] = quiet
        return hours

    def sms_template(self, value, where, name) -> str:
        self.text(value, where, name)
        try:
            fields = [f for _, f, _, _ in string.Formatter().parse(value) if f is not None]
        except ValueError as exc:
            self.fail(where, name, f"not a valid template ({exc})")
        for field_name in fields:
            if not field_name or "." in field_name:  # no positional fields, no attribute access
                self.fail(where, name, f"template field {{{field_name}}} must name a payload field")
        if len(value) > SMS_MAX_CHARS:
            self.fail(where, name, f"longer than {SMS_MAX_CHARS} characters")
        return value

    # -- the document

    def campaign_set(self, document) -> CampaignSet:
        if document is None:
            raise CampaignConfigError(f"{self.source}: the file is empty")
        self.mapping(document, "top level", "", {"settings", "campaigns"}, {"campaigns"})
        settings = self.settings(document.get("settings") or {})
        raw = document["campaigns"]
        if not isinstance(raw, dict) or not raw:
            self.fail("top level", "campaigns", "expected a non-empty mapping of campaign key to campaign")
        campaigns = tuple(self.campaign(key, spec, settings) for key, spec in raw.items())
        return CampaignSet(settings, campaigns, self.source)

    def settings(self, raw) -> Settings:
        where = "settings"
        allowed = {"store_time_zone", "from_email", "from_name", "from_number", "frequency_caps",
                   "promotional_per_day", "quiet_hours", "list_health", "webhook"}
        self.mapping(raw, where, "", allowed)
        defaults = Settings()
        zone = self.time_zone(raw.get("store_time_zone", defaults.store_time_zone), where, "store_time_zone")
        caps = dict(defaults.frequency_caps)
        if "frequency_caps" in raw:
            self.mapping(raw["frequency_caps"], where, "frequency_caps", set(CHANNELS))
            for channel, spec in raw["frequency_caps"].items():
                name = f"frequency_caps.{channel}"
                self.mapping(spec, where, name, {"max_sends", "window_hours"}, {"max_sends", "window_hours"})
                caps[channel] = FrequencyCap(self.integer(spec["max_sends"], where, f"{name}.max_sends", 1),
                                             self.number(spec["window_hours"], where, f"{name}.window_hours", 0.01))
        quiet = defaults.quiet_hours
        if "quiet_hours" in raw:
            quiet = self.quiet_hours(raw["quiet_hours"], where, "quiet_hours")
        return Settings(
            store_time_zone=zone,
            from_email=self.optional(raw, "from_email", where, EMAIL_PATTERN, "an email address"),
            from_name=self.optional(raw, "from_name", where),
            from_number=self.optional(raw, "from_number", where, PHONE_PATTERN, "an E.164 phone number"),
            frequency_caps=caps,
            promotional_per_day=self.integer(raw.get("promotional_per_day", 1), where, "promotional_per_day", 1),
            quiet_hours=quiet,
            list_health=self.list_health(raw.get("list_health"), where),
            webhook=self.webhook(raw.get("webhook"), where),
        )

    def webhook(self, raw, where) -> WebhookEndpoint:
        defaults = WebhookEndpoint()
        if raw is None:
            return defaults
        self.mapping(raw, where, "webhook", {"url", "batch_size", "timeout_seconds"})
        url = raw.get("url")
        if url is not None:
            self.text(url, where, "webhook.url", re.compile(r"^https?://[^\s/]+"), "an http(s) URL")
        return WebhookEndpoint(
            url=url,
            batch_size=self.integer(raw.get("batch_size", defaults.batch_size), where, "webhook.batch_size",
                                    1, MAX_BATCH_SIZE),
            timeout_seconds=self.number(raw.get("timeout_seconds", defaults.timeout_seconds), where,
                                        "webhook.timeout_seconds", 0.1, 120),
        )

    def list_health(self, raw, where) -> ListHealthLimits:
        defaults = ListHealthLimits()
        if raw is None:
            return defaults
        self.mapping(raw, where, "list_health", {"max_spam_rate", "max_bounce_rate", "min_delivered"})
        return ListHealthLimits(
            max_spam_rate=self.number(raw.get("max_spam_rate", defaults.max_spam_rate), where,
                                      "list_health.max_spam_rate", 0.0, 1.0),
            max_bounce_rate=self.number(raw.get("max_bounce_rate", defaults.max_bounce_rate), where,
                                        "list_health.max_bounce_rate", 0.0, 1.0),
            min_delivered=self.integer(raw.get("min_delivered", defaults.min_delivered), where,
                                       "list_health.min_delivered", 1),
        )

    def optional(self, raw, key, where, pattern=None, what=""):
        value = raw.get(key)
        return None if value is None else self.text(value, where, key, pattern, what)

    def time_zone(self, value, where, name) -> str:
        self.text(value, where, name)
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            self.fail(where, name, f"{value!r} is not an IANA time zone")
        return value

    CAMPAIGN_FIELDS = {"audience", "description", "channels", "email_template_id", "sms_body", "steps",
                       "priority", "kind", "holdout_share", "send_window", "quiet_hours", "unsubscribe_group",
                       "categories", "discount", "purchase_exclusion_days", "internal_recipients",
                       "confirms_sms_opt_in", "broadcast", "variants", "experiment", "send_time",
                       "webhook_include"}

    def campaign(self, key, raw, settings: Settings) -> Campaign:
        if not isinstance(key, str) or not KEY_PATTERN.match(key):
            raise CampaignConfigError(f"{self.source}: campaign key {key!r} must be lower_snake_case")
        where = f"campaign '{key}'"
        self.mapping(raw, where, "", self.CAMPAIGN_FIELDS, {"channels", "steps", "priority", "kind"})
        kind = raw["kind"]
        if kind not in KINDS:
            self.fail(where, "kind", f"{kind!r} is not one of {', '.join(KINDS)}")
        channels = self.string_list(raw["channels"], where, "channels")
        if not channels:
            self.fail(where, "channels", "needs at least one channel")
        for channel in channels:
            if channel not in CHANNELS:
                self.fail(where, "channels", f"{channel!r} is not one of {', '.join(CHANNELS)}")
        template = raw.get("email_template_id")
        if template is not None:
            self.text(template, where, "email_template_id", TEMPLATE_PATTERN, "a SendGrid dynamic template id (d-...)")
        sms_body = raw.get("sms_body")
        if sms_body is not None:
            self.sms_template(sms_body, where, "sms_body")
        discount = self.discount(raw.get("discount"), where)
        shared = self.experiment(raw, where, "", key, channels, discount)
        steps = self.steps(raw["steps"], where, discount, key, channels, shared)
        self.unique_experiments(steps, where)
        if "email" in channels and not all(template or s.email_template_id for s in steps):
            self.fail(where, "email_template_id", "an email campaign needs a template id (for every step)")
        if "sms" in channels and not all(sms_body or s.sms_body for s in steps):
            self.fail(where, "sms_body", "an SMS campaign needs an sms_body (for every step)")
        for step in steps:
            for variant in step.experiment.variants if step.experiment else ():
                if variant.channel == "sms" and not (variant.sms_body or step.sms_body or sms_body):
                    self.fail(where, f"variants.{variant.name}.channel", "an SMS variant needs an sms_body")
        if discount and discount.from_step > len(steps):
            self.fail(where, "discount.from_step", f"{discount.from_step} is past the last step ({len(steps)})")
        holdout = self.number(raw.get("holdout_share", 0.0), where, "holdout_share", 0.0)
        if holdout >= 1.0:
            self.fail(where, "holdout_share", f"{holdout!r} must be below 1 (a share in [0, 1))")
        group = raw.get("unsubscribe_group")
        if group is not None:
            self.integer(group, where, "unsubscribe_group", 1)
        if kind == "promotional" and "email" in channels and group is None:
            self.fail(where, "unsubscribe_group", "a promotional email campaign needs a SendGrid unsubscribe group")
        recipients = self.string_list(raw.get("internal_recipients", []), where, "internal_recipients",
                                      EMAIL_PATTERN, "an email address")
        if kind == "internal":
            if channels != ("email",):
                self.fail(where, "channels", "an internal alert goes by email only")
            if not recipients:
                self.fail(where, "internal_recipients", "an internal alert needs at least one staff address")
            if holdout:
                self.fail(where, "holdout_share", "an internal alert cannot have a holdout")
        elif recipients:
            self.fail(where, "internal_recipients", "only internal campaigns have staff recipients")
        confirms = self.boolean(raw.get("confirms_sms_opt_in", False), where, "confirms_sms_opt_in")
        if confirms and (channels != ("sms",) or kind != "transactional"):
            self.fail(where, "confirms_sms_opt_in", "the double opt-in request is a transactional SMS-only campaign")
        quiet = dict(settings.quiet_hours)
        if "quiet_hours" in raw:
            if raw["quiet_hours"] is None:
                quiet = {}
            else:
                quiet.update({c: None for c in (raw["quiet_hours"] or {})})
                quiet.update(self.quiet_hours(raw["quiet_hours"], where, "quiet_hours"))
                quiet = {c: q for c, q in quiet.items() if q is not None}
        broadcast = self.broadcast(raw.get("broadcast"), where, kind, steps)
        include = self.string_list(raw.get("webhook_include", []), where, "webhook_include")
        if include and "webhook" not in channels:
            self.fail(where, "webhook_include", "only a campaign with the webhook channel sends a webhook body")
        for name in include:
            if name not in INCLUDABLE:
                self.fail(where, "webhook_include", f"{name!r} is not one of {', '.join(INCLUDABLE)}")
        categories = self.string_list(raw.get("categories", [key]), where, "categories")
        if len(categories) > 10:
            self.fail(where, "categories", "SendGrid accepts at most 10 categories")
        return Campaign(
            key=key,
            audience=self.text(raw.get("audience", BROADCAST_AUDIENCE if broadcast else f"audience_{key}"),
                               where, "audience", KEY_PATTERN,
                               "a dbt model name"),
            description=str(raw.get("description", "")),
            channels=channels,
            email_template_id=template,
            sms_body=sms_body,
            steps=steps,
            priority=self.integer(raw["priority"], where, "priority", 0),
            kind=kind,
            holdout_share=holdout,
            send_window=self.send_window(raw.get("send_window"), where),
            quiet_hours=quiet,
            unsubscribe_group=group,
            categories=categories,
            discount=discount,
            purchase_exclusion_days=self.number(raw.get("purchase_exclusion_days", 0), where,
                                                "purchase_exclusion_days", 0),
            internal_recipients=recipients,
            confirms_sms_opt_in=confirms,
            broadcast=broadcast,
            send_time=self.send_time(raw.get("send_time", "fixed"), where, "send_time"),
            webhook_include=include,
        )

    def discount(self, raw, where) -> DiscountPolicy | None:
        if raw is None:
            return None
        self.mapping(raw, where, "discount", {"prefix", "percent", "from_step", "expires_after_days", "code", "uses"},
                     {"prefix", "percent"})
        code = self.text(raw.get("code", "message"), where, "discount.code")
        if code not in DISCOUNT_CODES:
            self.fail(where, "discount.code", f"must be one of {', '.join(DISCOUNT_CODES)}")
        if code == "message" and "uses" in raw:
            self.fail(where, "discount.uses", "a code per message is used once; uses is for referral codes")
        return DiscountPolicy(
            prefix=self.text(raw["prefix"], where, "discount.prefix", COUPON_PREFIX_PATTERN,
                             "1-12 capital letters or digits"),
            percent=self.number(raw["percent"], where, "discount.percent", 0.01, 100),
            from_step=self.integer(raw.get("from_step", 1), where, "discount.from_step", 1),
            expires_after_days=self.integer(raw.get("expires_after_days", DEFAULT_DISCOUNT_EXPIRY_DAYS), where,
                                            "discount.expires_after_days", 1, MAX_DISCOUNT_EXPIRY_DAYS),
            code=code,
            uses=self.integer(raw.get("uses", 1), where, "discount.uses", 1, MAX_REFERRAL_USES),
        )

    def broadcast(self, raw, where, kind: str, steps: tuple[Step, ...]) -> Broadcast | None:
        if raw is None:
            return None
        self.mapping(raw, where, "broadcast", {"segment", "send_at", "send_within_hours"}, {"segment", "send_at"})
        if kind == "internal":
            self.fail(where, "broadcast", "an internal alert cannot be a broadcast (it goes to staff, not to segments)")
        if len(steps) != 1 or steps[0].delay_hours != 0:
            self.fail(where, "steps", "a broadcast sends once, at its send_at: exactly one step with delay_hours 0")
        if steps[0].exit_when:
            self.fail(where, "steps[1].exit_when", "a broadcast's audience has no exit conditions")
        segments = raw["segment"]
        segments = self.string_list([segments] if isinstance(segments, str) else segments, where, "broadcast.segment")
        if not segments:
            self.fail(where, "broadcast.segment", "needs at least one segment")
        for segment in segments:
            if segment not in SEGMENTS:
                self.fail(where, "broadcast.segment", f"{segment!r} is not a segment of customer_segments "
                                                      f"(known: {', '.join(sorted(SEGMENTS))})")
        return Broadcast(segments, self.send_at(raw["send_at"], where),
                         self.number(raw.get("send_within_hours", DEFAULT_BROADCAST_HOURS), where,
                                     "broadcast.send_within_hours", 1, 168))

    def send_at(self, value, where) -> datetime:
        if isinstance(value, datetime):  # YAML reads "2026-11-27 09:00:00" as a timestamp
            moment = value
        else:
            try:
                moment = datetime.strptime(str(value).strip(), SEND_AT_FORMAT)
            except ValueError:
                self.fail(where, "broadcast.send_at",
                          f"expected a local date and time \"YYYY-MM-DD HH:MM\", got {value!r}")
        if moment.tzinfo is not None:
            self.fail(where, "broadcast.send_at",
                      "is the local time of each recipient: give no UTC offset or zone")
        return moment

    def send_window(self, raw, where) -> SendWindow | None:
        if raw is None:
            return None
        self.mapping(raw, where, "send_window", {"start_hour", "end_hour"}, {"start_hour", "end_hour"})
        start = self.integer(raw["start_hour"], where, "send_window.start_hour", 0, 23)
        end = self.integer(raw["end_hour"], where, "send_window.end_hour", 1, 24)
        if start == end:
            self.fail(where, "send_window", "start_hour and end_hour are equal")
        return SendWindow(start, end)

    EXPERIMENT_FIELDS = {"name", "metric", "min_recipients", "probability", "max_days"}
    VARIANT_FIELDS = {"name", "weight", "paused", "subject", "email_template_id", "sms_body", "discount_percent",
                      "send_hour", "channel", "send_time"}

    def experiment(self, raw, where, prefix: str, default_key: str, channels: tuple[str, ...],
                   discount: DiscountPolicy | None) -> Experiment | None:
        """``variants:`` (and the optional ``experiment:`` rule beside it) on a campaign or a step."""
        spec = raw.get("experiment")
        if "variants" not in raw:
            if spec is not None:
                self.fail(where, f"{prefix}experiment", "an experiment needs a variants list beside it")
            return None
        spec = {} if spec is None else spec
        self.mapping(spec, where, f"{prefix}experiment", self.EXPERIMENT_FIELDS)
        key = self.text(spec.get("name", default_key), where, f"{prefix}experiment.name", KEY_PATTERN,
                        "lower_snake_case")
        defaults = WinnerRule()
        metric = spec.get("metric", defaults.metric)
        if metric not in METRICS:
            self.fail(where, f"{prefix}experiment.metric", f"{metric!r} is not one of {', '.join(METRICS)}")
        rule = WinnerRule(
            metric=metric,
            min_recipients=self.integer(spec.get("min_recipients", defaults.min_recipients), where,
                                        f"{prefix}experiment.min_recipients", 1),
            probability=self.number(spec.get("probability", defaults.probability), where,
                                    f"{prefix}experiment.probability", 0.5, 0.9999),
            max_days=self.integer(spec.get("max_days", defaults.max_days), where, f"{prefix}experiment.max_days", 1),
        )
        items = raw["variants"]
        if not isinstance(items, list) or len(items) < 2:
            self.fail(where, f"{prefix}variants", "expected a list of at least two variants (the first is the control)")
        variants = tuple(self.variant(item, where, f"{prefix}variants[{n}]", channels, discount)
                         for n, item in enumerate(items, start=1))
        names = [v.name for v in variants]
        if len(set(names)) != len(names):
            self.fail(where, f"{prefix}variants", "two variants have the same name")
        if all(v.paused for v in variants):
            self.fail(where, f"{prefix}variants", "every variant is paused: nothing could be sent")
        return Experiment(key, variants, rule)

    def unique_experiments(self, steps: tuple[Step, ...], where: str) -> None:
        """Results and winners are kept per experiment name: two experiments may not share one."""
        seen: dict[str, Experiment] = {}
        for experiment in (s.experiment for s in steps if s.experiment is not None):
            if seen.setdefault(experiment.key, experiment) is not experiment:
                self.fail(where, "experiment.name", f"two experiments are named {experiment.key!r}")
        for key in seen:
            if key in self.experiment_keys:
                self.fail(where, "experiment.name", f"{key!r} already names an experiment of another campaign")
        self.experiment_keys.update(seen)

    def variant(self, spec, where, name, channels: tuple[str, ...], discount: DiscountPolicy | None) -> Variant:
        self.mapping(spec, where, name, self.VARIANT_FIELDS, {"name", "weight"})
        label = self.text(spec["name"], where, f"{name}.name", KEY_PATTERN, "lower_snake_case")
        name = f"variants.{label}"
        template = spec.get("email_template_id")
        if template is not None:
            self.text(template, where, f"{name}.email_template_id", TEMPLATE_PATTERN,
                      "a SendGrid dynamic template id (d-...)")
        body = spec.get("sms_body")
        if body is not None:
            self.sms_template(body, where, f"{name}.sms_body")
        percent = spec.get("discount_percent")
        if percent is not None:
            percent = self.number(percent, where, f"{name}.discount_percent", 0.01, 100)
            if discount is None:
                self.fail(where, f"{name}.discount_percent", "needs the campaign's discount policy")
        hour = spec.get("send_hour")
        if hour is not None:
            self.integer(hour, where, f"{name}.send_hour", 0, 23)
        channel = spec.get("channel")
        if channel is not None and channel not in channels:
            self.fail(where, f"{name}.channel", f"{channel!r} is not one of the campaign's channels "
                                                f"({', '.join(channels)})")
        subject = spec.get("subject")
        if subject is not None:
            self.text(subject, where, f"{name}.subject")
        send_time = spec.get("send_time")
        if send_time is not None:
            self.send_time(send_time, where, f"{name}.send_time")
            if hour is not None:
                self.fail(where, f"{name}.send_time", "a variant has either a send_hour or an optimised send_time")
        return Variant(label, self.number(spec["weight"], where, f"{name}.weight", 0.0001),
                       self.boolean(spec.get("paused", False), where, f"{name}.paused"), subject, template, body,
                       percent, hour, channel, send_time)

    def send_time(self, value, where, name) -> str:
        if value not in SEND_TIMES:
            self.fail(where, name, f"{value!r} is not one of {', '.join(SEND_TIMES)}")
        return value

    def steps(self, raw, where, discount: DiscountPolicy | None, campaign_key: str = "",
              channels: tuple[str, ...] = (), shared: Experiment | None = None) -> tuple[Step, ...]:
        if not isinstance(raw, list) or not raw:
            self.fail(where, "steps", "expected a non-empty list of steps")
        steps: list[Step] = []
        for index, spec in enumerate(raw, start=1):
            name = f"steps[{index}]"
            self.mapping(spec, where, name, {"delay_hours", "exit_when", "discount", "email_template_id", "sms_body",
                                             "variants", "experiment"}, {"delay_hours"})
            delay = self.number(spec["delay_hours"], where, f"{name}.delay_hours", 0)
            if steps and delay <= steps[-1].delay_hours:
                self.fail(where, f"{name}.delay_hours",
                          f"{delay:g} must be later than the previous step's {steps[-1].delay_hours:g}")
            exits = self.string_list(spec.get("exit_when", []), where, f"{name}.exit_when", KEY_PATTERN,
                                     "an exit condition name")
            # the policy's from_step decides by default; a step may say otherwise explicitly
            wants_discount = bool(discount and index >= discount.from_step)
            if "discount" in spec:
                wants_discount = self.boolean(spec["discount"], where, f"{name}.discount")
            if wants_discount and discount is None:
                self.fail(where, f"{name}.discount", "a discounted step needs the campaign's discount policy")
            template = spec.get("email_template_id")
            if template is not None:
                self.text(template, where, f"{name}.email_template_id", TEMPLATE_PATTERN,
                          "a SendGrid dynamic template id (d-...)")
            body = spec.get("sms_body")
            if body is not None:
                self.sms_template(body, where, f"{name}.sms_body")
            experiment = self.experiment(spec, where, f"{name}.", f"{campaign_key}_step{index}", channels,
                                         discount) or shared
            steps.append(Step(index, delay, exits, wants_discount, template, body, experiment=experiment))
        return tuple(steps)
