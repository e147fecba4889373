"""Live sources: fill the inbox from a real Shopify shop and SendGrid's suppression lists.

The pulls write the providers' responses unchanged into `inbox/`, so ingestion serves them
exactly as it serves the simulator. Without credentials they refuse with a clear reason; the
schedule skips them, and the built-in simulator fills the inbox instead.
"""

import os
from datetime import date

import dagster as dg

from orchestration.partitions import daily_partitions
from orchestration.resources import DataDirResource
from retention.live.shopify_api import DEFAULT_API_VERSION, ShopifyConfig, pull_shopify
from retention.live.suppressions import DEFAULT_HOST, SuppressionConfig, pull_suppressions


def env_or(name: str, default: str = "") -> str:
    """`dg.EnvVar(name)` when the variable is set (so it is read at run time and never shown), else a default."""
    return dg.EnvVar(name) if os.environ.get(name) else default


class ShopifyResource(dg.ConfigurableResource):
    """A Shopify shop's Admin API: `SHOPIFY_STORE_DOMAIN`, `SHOPIFY_ACCESS_TOKEN` and friends."""

    store_domain: str = ""
    access_token: str = ""
    api_version: str = DEFAULT_API_VERSION
    api_base: str = ""
    start_date: str = ""

    @property
    def connected(self) -> bool:
        return bool((self.store_domain or self.api_base) and self.access_token)

    def config(self) -> ShopifyConfig:
        return ShopifyConfig(
            store_domain=self.store_domain or None,
            access_token=self.access_token,
            api_version=self.api_version,
            api_base=self.api_base or None,
            start_date=self.start_date or None,
        )

    @classmethod
    def from_env(cls) -> "ShopifyResource":
        return cls(
            store_domain=env_or("SHOPIFY_STORE_DOMAIN"),
            access_token=env_or("SHOPIFY_ACCESS_TOKEN"),
            api_version=env_or("SHOPIFY_API_VERSION", DEFAULT_API_VERSION),
            api_base=env_or("SHOPIFY_API_BASE"),
            start_date=env_or("SHOPIFY_START_DATE"),
        )


class SendGridResource(dg.ConfigurableResource):
    """SendGrid's Web API: `SENDGRID_API_KEY`, and `SENDGRID_API_HOST` to point it elsewhere."""

    api_key: str = ""
    api_host: str = DEFAULT_HOST

    @property
    def connected(self) -> bool:
        return bool(self.api_key)

    @classmethod
    def from_env(cls) -> "SendGridResource":
        return cls(api_key=env_or("SENDGRID_API_KEY"), api_host=env_or("SENDGRID_API_HOST", DEFAULT_HOST))


@dg.asset(
    key=["inbox", "shopify"],
    group_name="shopify",
    partitions_def=daily_partitions,
    kinds={"shopify", "json"},
    description="Shopify Admin API pages (customers, orders with refunds and fulfilments, products, "
    "abandoned checkouts, locations, inventory levels) updated since the last pull, written unchanged to "
    "`inbox/shopify/<day>/`.",
)
def shopify_inbox(context: dg.AssetExecutionContext, shopify: ShopifyResource, data_dir: DataDirResource):
    if not shopify.connected:
        raise dg.Failure("Shopify is not connected: set SHOPIFY_STORE_DOMAIN and SHOPIFY_ACCESS_TOKEN.")
    summary = pull_shopify(data_dir.layout, date.fromisoformat(context.partition_key), shopify.config())
    return dg.MaterializeResult(metadata=summary.as_metadata())


@dg.asset(
    key=["inbox", "sendgrid_suppressions"],
    group_name="sendgrid_suppressions",
    partitions_def=daily_partitions,
    kinds={"sendgrid", "json"},
    description="A full snapshot of SendGrid's suppression lists (bounces, blocks, spam reports, invalid "
    "emails, global and group unsubscribes), so consent matches the provider even when webhooks were missed.",
)
def sendgrid_suppressions_inbox(
    context: dg.AssetExecutionContext, sendgrid: SendGridResource, data_dir: DataDirResource
):
    if not sendgrid.connected:
        raise dg.Failure("SendGrid is not connected: set SENDGRID_API_KEY.")
    config = SuppressionConfig(api_key=sendgrid.api_key, host=sendgrid.api_host)
    summary = pull_suppressions(data_dir.layout, date.fromisoformat(context.partition_key), config)
    return dg.MaterializeResult(metadata=summary.as_metadata())


live_assets = [shopify_inbox, sendgrid_suppressions_inbox]


def connected_live_sources() -> list[dg.AssetKey]:
    """The live pulls whose credentials are in the environment now."""
    resources = {shopify_inbox.key: ShopifyResource.from_env(), sendgrid_suppressions_inbox.key: SendGridResource.from_env()}
    return [key for key, resource in resources.items() if resource.connected]
