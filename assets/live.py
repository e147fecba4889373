"""Live sources: fill the inbox from a real Shopify shop and SendGrid's suppression lists.

The pulls write the providers' responses unchanged into `inbox/`, so ingestion serves them
exactly as it serves the simulator. Without credentials they refuse with a clear reason; the
schedule skips them, and the built-in simulator fills the inbox instead.
"""

from datetime import date

import dagster as dg

from assets.partitions import daily_partitions
from assets.resources import DataDirResource, SendGridResource, ShopifyResource
from retention.live.suppressions import pull_suppressions


@dg.asset(
    key=["inbox", "shopify"],
    group_name="shopify",
    partitions_def=daily_partitions,
    kinds={"shopify", "json"},
    description="Shopify Admin API results (customers, orders with refunds, fulfilments and discount codes, products "
    "with all variants, abandoned checkouts, locations, inventory levels) updated since the last pull, written "
    "unchanged to `inbox/shopify/<day>/`: GraphQL bulk exports and pages (or REST pages with SHOPIFY_API=rest).",
)
def shopify_inbox(context: dg.AssetExecutionContext, shopify: ShopifyResource, data_dir: DataDirResource):
    if not shopify.connected:
        raise dg.Failure("Shopify is not connected: set SHOPIFY_STORE_DOMAIN and SHOPIFY_ACCESS_TOKEN.")
    summary = shopify.pull(data_dir.layout, date.fromisoformat(context.partition_key))
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
    summary = pull_suppressions(data_dir.layout, date.fromisoformat(context.partition_key), sendgrid.suppression_config())
    return dg.MaterializeResult(metadata=summary.as_metadata())


live_assets = [shopify_inbox, sendgrid_suppressions_inbox]


def connected_live_sources(shopify: ShopifyResource, sendgrid: SendGridResource) -> list[dg.AssetKey]:
    """The live pulls whose credentials are set now."""
    resources = {shopify_inbox.key: shopify, sendgrid_suppressions_inbox.key: sendgrid}
    return [key for key, resource in resources.items() if resource.connected]
