"""Every resource, defined once. Settings come from the environment through `dg.EnvVar`, never from code.

A field given a value (in a test, or the launchpad) wins; a field left empty takes its environment
variable at the moment the resource is used (`dg.EnvVar(name).get_value()`), not when the
definitions load, so a variable set after the code location started still counts. No other module
of the pipeline reads the environment: the library takes these settings as arguments.

`orchestration/definitions.py` binds them to the keys the assets, sensors and schedules ask for.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from datetime import date
from functools import cached_property
from pathlib import Path
from typing import ClassVar

import dagster as dg
from dagster_dbt import DbtCliResource, DbtProject
from packaging import version

from retention.activation.discounts import ShopifyDiscounts
from retention.activation.senders import (
    DEFAULT_EMAIL_FROM,
    SENDGRID_MAX_PERSONALIZATIONS,
    Sender,
    SenderSettings,
    build_senders,
)
from retention.activation.webhook import SECRET_ENV as WEBHOOK_SECRET_ENV
from retention.activation.webhook import WebhookEndpoint
from retention.live.shopify_api import DEFAULT_API_VERSION, ShopifyConfig, ShopifySummary, pull_shopify
from retention.live.shopify_graphql import ShopifyGraphQLConfig, pull_shopify_graphql
from retention.live.suppressions import DEFAULT_HOST, SuppressionConfig
from retention.paths import DATA_DIR_ENV, LEDGER_URL_ENV, PRIVACY_SALT_ENV, DataDir
from retention.quality.alerts import WEBHOOK_ENV

DBT_PROJECT_DIR = Path(__file__).resolve().parents[1] / "dbt_project"
MANIFEST_TARGET = "dbt-manifest"  # the Makefile target that writes dbt_project/target/manifest.json


class EnvResource(dg.ConfigurableResource):
    """A resource whose empty fields read `ENV[field]` through `dg.EnvVar` when used."""

    ENV: ClassVar[dict[str, str]] = {}
    DEFAULTS: ClassVar[dict[str, str]] = {}

    def setting(self, field: str) -> str:
        value = getattr(self, field)
        if value:
            return value
        return dg.EnvVar(self.ENV[field]).get_value() or self.DEFAULTS.get(field, "")

    def settings(self) -> dict[str, str]:
        """Every setting under its environment variable's name (what the library's `from_mapping` take)."""
        return {name: self.setting(field) for field, name in self.ENV.items()}


class DataDirResource(EnvResource):
    """The data directory that holds inbox, landing zone, quarantine, warehouse and outbox:
    `RETENTION_DATA_DIR`, else `./data`."""

    root: str = ""
    privacy_salt: str = ""  # salts the erasure tombstones: RETENTION_PRIVACY_SALT, else the data dir's own
    ledger_url: str = ""  # the send ledger on Postgres: RETENTION_LEDGER_URL, else SQLite in the data dir
    ingest_workers: str = ""  # processes landing a range of days: RETENTION_INGEST_WORKERS, else one per core
    ENV: ClassVar[dict[str, str]] = {"root": DATA_DIR_ENV, "privacy_salt": PRIVACY_SALT_ENV,
                                     "ledger_url": LEDGER_URL_ENV, "ingest_workers": "RETENTION_INGEST_WORKERS"}
    DEFAULTS: ClassVar[dict[str, str]] = {"root": "data"}

    @property
    def layout(self) -> DataDir:
        return DataDir(Path(self.setting("root")).resolve(), self.setting("privacy_salt"), self.setting("ledger_url"))

    @property
    def workers(self) -> int | None:
        """Ingestion processes, or None for the library's default (one per core)."""
        value = self.setting("ingest_workers").strip()
        if not value:
            return None
        if not value.isdigit() or int(value) < 1:
            raise ValueError(f"RETENTION_INGEST_WORKERS must be a whole number of processes, 1 or more, not {value!r}")
        return int(value)


class ShopifyResource(EnvResource):
    """A Shopify shop's Admin API: `SHOPIFY_STORE_DOMAIN`, `SHOPIFY_ACCESS_TOKEN` and friends. The
    pull uses the GraphQL Admin API (`SHOPIFY_API=graphql`, the default) or the legacy REST one
    (`SHOPIFY_API=rest`); the campaigns' discount codes are created through GraphQL either way."""

    store_domain: str = ""
    access_token: str = ""
    api_version: str = ""
    api_base: str = ""
    start_date: str = ""
    resources: str = ""  # comma-separated; empty = every resource
    api: str = ""  # graphql | rest
    backfill: str = ""  # GraphQL: auto | always | never
    ENV: ClassVar[dict[str, str]] = {
        "store_domain": "SHOPIFY_STORE_DOMAIN", "access_token": "SHOPIFY_ACCESS_TOKEN",
        "api_version": "SHOPIFY_API_VERSION", "api_base": "SHOPIFY_API_BASE", "start_date": "SHOPIFY_START_DATE",
        "resources": "SHOPIFY_RESOURCES", "api": "SHOPIFY_API", "backfill": "SHOPIFY_BACKFILL",
    }
    DEFAULTS: ClassVar[dict[str, str]] = {"api_version": DEFAULT_API_VERSION, "api": "graphql", "backfill": "auto"}

    @property
    def connected(self) -> bool:
        return bool((self.setting("store_domain") or self.setting("api_base")) and self.setting("access_token"))

    def config(self) -> ShopifyConfig:
        return ShopifyConfig.from_mapping(self.settings())

    def pull(self, layout: DataDir, day: date) -> ShopifySummary:
        """What changed since the last pull, into `inbox/shopify/<day>/`."""
        api = self.setting("api").lower()
        if api == "rest":
            return pull_shopify(layout, day, self.config())
        if api == "graphql":
            return pull_shopify_graphql(layout, day, ShopifyGraphQLConfig.from_mapping(self.settings()))
        raise ValueError(f"SHOPIFY_API must be graphql or rest, not {api!r}")

    def discounts(self) -> ShopifyDiscounts | None:
        """Where the campaigns' discount codes are created: the shop when connected, else None (the outbox)."""
        if not self.connected:
            return None
        return ShopifyDiscounts(self.setting("store_domain") or None, self.setting("access_token"),
                                self.setting("api_version"), api_base=self.setting("api_base") or None)


class SendGridResource(EnvResource):
    """SendGrid: the Web API key (`SENDGRID_API_KEY`, `SENDGRID_API_HOST`) the suppression pull and
    the email sender share, and the sender's settings (`RETENTION_EMAIL_FROM` and friends)."""

    api_key: str = ""
    api_host: str = ""
    batch_size: str = ""
    sandbox: str = ""
    email_from: str = ""
    email_from_name: str = ""
    email_reply_to: str = ""
    ENV: ClassVar[dict[str, str]] = {
        "api_key": "SENDGRID_API_KEY", "api_host": "SENDGRID_API_HOST", "batch_size": "SENDGRID_BATCH_SIZE",
        "sandbox": "SENDGRID_SANDBOX", "email_from": "RETENTION_EMAIL_FROM",
        "email_from_name": "RETENTION_EMAIL_FROM_NAME", "email_reply_to": "RETENTION_EMAIL_REPLY_TO",
    }
    DEFAULTS: ClassVar[dict[str, str]] = {"api_host": DEFAULT_HOST, "email_from": DEFAULT_EMAIL_FROM,
                                          "batch_size": str(SENDGRID_MAX_PERSONALIZATIONS)}

    @property
    def connected(self) -> bool:
        return bool(self.setting("api_key"))

    def suppression_config(self) -> SuppressionConfig:
        return SuppressionConfig(api_key=self.setting("api_key") or None, host=self.setting("api_host"))


class TwilioResource(EnvResource):
    """Twilio's Messages API for SMS: `TWILIO_ACCOUNT_SID`, `TWILIO_AUTH_TOKEN` and the sender's settings."""

    account_sid: str = ""
    auth_token: str = ""
    api_base: str = ""
    from_number: str = ""
    messaging_service_sid: str = ""
    status_callback_url: str = ""
    webhook_public_url: str = ""
    ENV: ClassVar[dict[str, str]] = {
        "account_sid": "TWILIO_ACCOUNT_SID", "auth_token": "TWILIO_AUTH_TOKEN", "api_base": "TWILIO_API_BASE",
        "from_number": "TWILIO_FROM_NUMBER", "messaging_service_sid": "TWILIO_MESSAGING_SERVICE_SID",
        "status_callback_url": "TWILIO_STATUS_CALLBACK_URL", "webhook_public_url": "TWILIO_WEBHOOK_PUBLIC_URL",
    }


class PushWebhookResource(EnvResource):
    """The push / webhook channel's signing secret (`RETENTION_WEBHOOK_SECRET`); its endpoint, batch
    size and timeout are campaigns.yml's `settings.webhook`, which holds no secret."""

    secret: str = ""
    ENV: ClassVar[dict[str, str]] = {"secret": WEBHOOK_SECRET_ENV}


def senders(outbox_dir: Path, sendgrid: SendGridResource, twilio: TwilioResource, push: PushWebhookResource,
            endpoint: WebhookEndpoint) -> dict[str, Sender]:
    """Live senders for the channels whose keys are set, the outbox for the others."""
    settings = SenderSettings.from_mapping({**sendgrid.settings(), **twilio.settings(), **push.settings()})
    return build_senders(outbox_dir, settings, endpoint)


class AlertWebhookResource(EnvResource):
    """Where run failures are posted (`RETENTION_ALERT_WEBHOOK_URL`); empty = only logged."""

    url: str = ""
    ENV: ClassVar[dict[str, str]] = {"url": WEBHOOK_ENV}

    @property
    def target(self) -> str | None:
        return self.setting("url") or None


# dbt: the project, its manifest written by `make dbt-manifest` (dbt parse), never by an import.
dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)
dbt_project.prepare_if_dev()  # under `dagster dev` only: re-parse so edits to the models show up


def dbt_manifest_path() -> Path:
    """The parsed manifest the dbt assets are built from; a clear error when it was never written."""
    if not dbt_project.manifest_path.exists():
        raise FileNotFoundError(
            f"{dbt_project.manifest_path} is missing: run `make {MANIFEST_TARGET}` (dbt parse) first; "
            "make test, demo, dev and docs do it for you."
        )
    return dbt_project.manifest_path


class ProjectDbtResource(DbtCliResource):
    """dagster-dbt's resource without two things it did before every build, for nothing here:

    - ``dbt --version`` in a process of its own (2.6 s: dbt's whole start) to learn whether the
      executable is dbt Core or Fusion: the dbt beside this interpreter is the dbt-core installed
      with it, so its version is read from the package;
    - a dbt adapter opened in Dagster's process (the project, the profile and dbt's macros loaded,
      0.5 s), used only by ``fetch_row_counts`` and ``fetch_column_metadata``: the row counts are read
      after dbt has exited (assets/transform.py), and no asset asks for column metadata.
    """

    @cached_property
    def _cli_version(self) -> version.Version:
        if Path(self.dbt_executable).parent != Path(sys.executable).parent:
            return super()._cli_version  # another dbt: ask it
        from dbt.version import __version__

        return version.parse(__version__)

    def _initialize_dbt_core_adapter(self, args: Sequence[str]) -> None:
        return None


def dbt_resource() -> DbtCliResource:
    # The dbt that sits beside this interpreter, whether or not the virtualenv is activated.
    executable = Path(sys.executable).parent / "dbt"
    return ProjectDbtResource(project_dir=dbt_project,
                              dbt_executable=str(executable) if executable.exists() else "dbt")

