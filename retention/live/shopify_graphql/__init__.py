"""Shopify GraphQL Admin API connector: customers, orders (line items, refunds, fulfilments,
discount applications and codes), products with ALL their variants, abandoned checkouts,
locations and inventory levels.

    summary = pull_shopify_graphql(data_dir, day, ShopifyGraphQLConfig.from_mapping(settings))
    python -m retention.live.shopify_graphql --day 2026-07-14 [--data-dir ./data] [--backfill auto|always|never]

- Environment: as the REST connector (``SHOPIFY_STORE_DOMAIN``, ``SHOPIFY_ACCESS_TOKEN``,
  ``SHOPIFY_API_VERSION`` default 2026-07, ``SHOPIFY_API_BASE``, ``SHOPIFY_START_DATE``,
  ``SHOPIFY_RESOURCES``) plus ``SHOPIFY_BACKFILL`` (``auto``: a bulk operation for a resource that
  has no cursor yet, pages afterwards; ``always``; ``never``).
- Backfill: ``bulkOperationRunQuery`` (``updated_at`` between the start date, if any, and the
  run's upper bound), polled with ``node(id:)``, its JSONL downloaded UNCHANGED to
  ``inbox/shopify/<day>/gql-bulk-<resource>-NNNN.jsonl``. Locations and their inventory levels
  are one bulk operation (levels are a nested connection of each location).
- Incremental: cursor pagination (``first``/``after``, ``pageInfo { hasNextPage endCursor }``)
  filtered by ``updated_at:>='<cursor>' AND updated_at:<='<run start - settle_seconds>'``; every
  response written unchanged to ``gql-<resource>-NNNN.json``. Locations: the whole list every run
  (as REST); inventory levels: per location, ``location(id:) { inventoryLevels(query:) }``.
  A record whose nested connection does not fit in its page (``hasNextPage`` on ``lineItems``,
  ``variants``...) is fetched again whole by id with a bulk operation (the page's copy is then
  quarantined by ingestion with that reason, the bulk file's copy lands).
- Cursors: ``<data>/state/shopify_graphql_cursors.json`` (atomic), per resource the greatest
  ``updatedAt`` seen, advanced only once the resource's files are all on disk. A resource with no
  GraphQL cursor yet continues from the REST connector's cursor (``shopify_cursors.json``) if
  there is one, so switching connectors neither refetches everything nor leaves a gap.
- Throttling, retries and errors: ``client`` (cost bucket from ``extensions.cost``, THROTTLED,
  429/5xx with backoff, GraphQL ``errors``/``userErrors`` raised naming the resource).
- Logs carry counts only (never emails, phones or names).
- Access: an Admin API token with ``read_customers``, ``read_orders`` (plus ``read_all_orders`` for
  orders older than 60 days), ``read_products``, ``read_inventory``, ``read_locations``; abandoned
  checkouts also need the staff permission to manage them. Bulk operations need an offline token.
- Field names follow the Admin GraphQL schema (``queries``); a field the shop's API version does
  not know fails the run with Shopify's message, naming the resource, never silently.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from retention.live.inbox_writer import read_json, write_atomic, write_json_atomic
from retention.live.shopify_api import (
    DEFAULT_API_VERSION,
    ResourceSummary,
    ShopifyConfig,
    ShopifySummary,
    _parse_ts,
    _start_value,
    pull_shopify,
    shop_settings,
)
from retention.live.shopify_api import (
    cursor_path as rest_cursor_path,
)
from retention.live.shopify_graphql import bulk, queries
from retention.live.shopify_graphql.client import GraphQLClient, ShopifyGraphQLError, SystemClock
from retention.paths import DataDir

log = logging.getLogger("retention.live.shopify_graphql")
RESOURCES = tuple(queries.RESOURCES)
BACKFILL_MODES = ("auto", "always", "never")
IDS_PER_BULK = 100

__all__ = ["ShopifyGraphQLConfig", "ShopifyGraphQLError", "pull_shopify_graphql", "cursor_path", "RESOURCES"]


@dataclass
class ShopifyGraphQLConfig:
    store_domain: str | None = None
    access_token: str | None = field(default=None, repr=False)
    api_version: str = DEFAULT_API_VERSION
    api_base: str | None = None
    start_date: str | None = None
    resources: tuple[str, ...] = RESOURCES
    backfill: str = "auto"
    page_sizes: dict = field(default_factory=dict)  # resource -> first (defaults in queries.RESOURCES)
    timeout: float = 30.0
    max_retries: int = 6
    backoff_base: float = 0.5
    backoff_max: float = 30.0
    max_retry_after: float = 120.0
    default_cost: float = 100.0  # points a query is assumed to need before its first response says
    poll_interval: float = 1.0
    poll_interval_max: float = 30.0
    bulk_timeout: float = 6 * 3600.0
    settle_seconds: float = 60.0

    @classmethod
    def from_mapping(cls, env: Mapping[str, str], **overrides) -> ShopifyGraphQLConfig:
        """From settings named after the environment variables (SHOPIFY_STORE_DOMAIN and friends)."""
        values = {**shop_settings(env), "backfill": env.get("SHOPIFY_BACKFILL") or "auto"}
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)

    def base_url(self) -> str:
        if self.api_base:
            return self.api_base.rstrip("/")
        if not self.store_domain:
            raise ShopifyGraphQLError("SHOPIFY_STORE_DOMAIN (or SHOPIFY_API_BASE) is not set")
        return f"https://{self.store_domain}"

    def page_size(self, resource: str) -> int:
        return int(self.page_sizes.get(resource) or queries.RESOURCES[resource][2])


def cursor_path(data_dir: DataDir) -> Path:
    return data_dir.root / "state" / "shopify_graphql_cursors.json"


def _next_number(folder: Path, stem: str, suffix: str) -> int:
    pattern = re.compile(rf"{re.escape(stem)}-(\d+){re.escape(suffix)}\Z")
    numbers = [int(m.group(1)) for p in folder.glob(f"{stem}-*{suffix}") if (m := pattern.match(p.name))]
    return max(numbers, default=0) + 1


def _newer(a: str | None, b) -> str | None:
    if not isinstance(b, str):
        return a
    try:
        return b if a is None or _parse_ts(b) > _parse_ts(a) else a
    except ValueError:
        return a


def _gid_number(gid: str) -> int | None:
    match = re.search(r"/(\d+)(?:\?.*)?\Z", gid) if isinstance(gid, str) else None
    return int(match.group(1)) if match else None


def _overflowing(resource: str, node: dict) -> bool:
    keys = {"orders": ("lineItems", "discountApplications"), "products": ("variants",),
            "checkouts": ("lineItems",)}.get(resource, ())
    conns = [node.get(k) for k in keys]
    if resource == "orders":
        conns += [r.get("refundLineItems") for r in node.get("refunds") or [] if isinstance(r, dict)]
    return any(isinstance(c, dict) and (c.get("pageInfo") or {}).get("hasNextPage") for c in conns)


class _Puller:
    def __init__(self, client: GraphQLClient, data_dir: DataDir, day: date, until: str):
        self.client, self.data_dir, self.day, self.until = client, data_dir, day, until
        self.folder = data_dir.inbox_day("shopify", day)
        self.folder.mkdir(parents=True, exist_ok=True)

    def _rel(self, path: Path) -> str:
        return path.relative_to(self.data_dir.inbox).as_posix()

    # -- bulk ---------------------------------------------------------------------------------
    def bulk(self, resource: str, search: str | None, summary: ResourceSummary,
             levels: ResourceSummary | None = None) -> bulk.BulkResult:
        stem = f"gql-bulk-{resource}"
        name = f"{stem}-{_next_number(self.folder, stem, '.jsonl'):04d}.jsonl"
        result = bulk.run(self.client, self.folder, name, resource, queries.bulk_query(resource, search))
        if result.file is not None:
            summary.files.append(self._rel(result.file))
            summary.pages += 1
        summary.records += result.roots
        summary.cursor_after = _newer(summary.cursor_after, result.newest)
        if levels is not None:
            levels.records += result.levels
            levels.cursor_after = _newer(levels.cursor_after, result.newest_level)
            if result.file is not None:
                levels.files.append(self._rel(result.file))
        log.info("shopify graphql %s: bulk operation done, %d objects, %d records, %d polls",
                 resource, result.objects, result.roots, result.polls)
        return result

    # -- pages ----------------------------------------------------------------------------------
    def _write_page(self, stem: str, body: bytes, summary: ResourceSummary) -> None:
        number = _next_number(self.folder, stem, ".json")
        path = write_atomic(self.folder / f"{stem}-{number:04d}.json", body)
        summary.files.append(self._rel(path))
        summary.pages += 1

    def pages(self, resource: str, cursor: str | None, summary: ResourceSummary) -> list[int]:
        """Every page of ``resource`` since ``cursor``; returns the ids of records to fetch whole."""
        field_name, _, _, filtered, _ = queries.RESOURCES[resource]
        query = queries.page_query(resource, self.client.config.page_size(resource))
        variables = {"first": self.client.config.page_size(resource), "after": None}
        if filtered:
            variables["query"] = queries.search_filter(cursor, self.until)
        overflow = []
        while True:
            try:
                body, doc = self.client.execute(query, variables, resource)
            except ShopifyGraphQLError as exc:
                if "MAX_COST_EXCEEDED" not in exc.codes or variables["first"] <= 1:
                    raise
                variables["first"] = max(1, variables["first"] // 2)
                log.info("shopify graphql %s: page too costly, asking %d a page", resource, variables["first"])
                continue
            conn = doc["data"].get(field_name)
            if not isinstance(conn, dict) or not isinstance(conn.get("nodes"), list):
                raise ShopifyGraphQLError(f"{resource}: a response without {field_name}.nodes")
            self._write_page(f"gql-{resource}", body, summary)
            for node in conn["nodes"]:
                if isinstance(node, dict):
                    summary.records += 1
                    summary.cursor_after = _newer(summary.cursor_after, node.get("updatedAt"))
                    if _overflowing(resource, node) and _gid_number(node.get("id")) is not None:
                        overflow.append(_gid_number(node["id"]))
            info = conn.get("pageInfo") or {}
            if not info.get("hasNextPage"):
                return overflow
            if not info.get("endCursor"):
                raise ShopifyGraphQLError(f"{resource}: hasNextPage without an endCursor")
            variables["after"] = info["endCursor"]

    def levels(self, cursor: str | None, location_gids: list[str], summary: ResourceSummary) -> None:
        first = self.client.config.page_size("inventory_levels")
        search = queries.search_filter(cursor, self.until)
        for gid in location_gids:
            variables = {"id": gid, "first": first, "after": None, "query": search}
            while True:
                body, doc = self.client.execute(queries.LEVELS_QUERY, variables, "inventory_levels")
                location = doc["data"].get("location")
                if location is None:  # deleted since the list was read
                    break
                conn = location.get("inventoryLevels") if isinstance(location, dict) else None
                if not isinstance(conn, dict) or not isinstance(conn.get("nodes"), list):
                    raise ShopifyGraphQLError("inventory_levels: a response without location.inventoryLevels.nodes")
                self._write_page("gql-inventory_levels", body, summary)
                for node in conn["nodes"]:
                    if isinstance(node, dict):
                        summary.records += 1
                        summary.cursor_after = _newer(summary.cursor_after, node.get("updatedAt"))
                info = conn.get("pageInfo") or {}
                if not info.get("hasNextPage"):
                    break
                variables["after"] = info["endCursor"]


def _location_gids(data_dir: DataDir, summary: ResourceSummary) -> list[str]:
    gids = []
    for rel in summary.files:
        if rel.endswith(".json"):
            doc = json.loads((data_dir.inbox / rel).read_bytes())
            gids += [n["id"] for n in doc["data"]["locations"]["nodes"] if isinstance(n, dict) and n.get("id")]
    return sorted(set(gids))


def _in_pull_order(resources: tuple[str, ...]) -> list[str]:
    order = list(resources)
    if "inventory_levels" in order:
        if "locations" in order:
            order.remove("locations")
        order.insert(order.index("inventory_levels"), "locations")
    return order


def pull_shopify_graphql(data_dir: DataDir, day: date, config: ShopifyGraphQLConfig, *,
                         clock=None) -> ShopifySummary:
    """Fetch every resource updated since its cursor into ``inbox/shopify/<day>/``; advance cursors.
    Same summary as the REST connector's ``pull_shopify``."""
    unknown = [r for r in config.resources if r not in queries.RESOURCES]
    if unknown:
        raise ShopifyGraphQLError(f"unknown Shopify resources {unknown}; known: {', '.join(RESOURCES)}")
    if config.backfill not in BACKFILL_MODES:
        raise ShopifyGraphQLError(f"backfill must be one of {BACKFILL_MODES}, not {config.backfill!r}")
    started = time.monotonic()
    clock = clock or SystemClock()
    state_file = cursor_path(data_dir)
    state = read_json(state_file, {"version": 1, "resources": {}})
    rest_state = read_json(rest_cursor_path(data_dir), {"resources": {}}).get("resources", {})
    client = GraphQLClient(config, clock=clock)
    until = (datetime.now(UTC) - timedelta(seconds=config.settle_seconds)).isoformat(timespec="seconds")
    until = until.replace("+00:00", "Z")
    puller = _Puller(client, data_dir, day, until)
    results: dict[str, ResourceSummary] = {}
    order = _in_pull_order(config.resources)

    def saved_cursor(resource: str) -> str | None:
        return (state["resources"].get(resource, {}).get("updated_at_min")
                or rest_state.get(resource, {}).get("updated_at_min"))

    def advance(resource: str, summary: ResourceSummary, via: str) -> None:
        before = state["resources"].get(resource, {}).get("updated_at_min")
        if summary.cursor_after and summary.cursor_after != before:
            state["resources"][resource] = {
                "updated_at_min": summary.cursor_after, "api_version": config.api_version, "via": via,
                "last_run_day": day.isoformat(), "advanced_at": datetime.now(UTC).isoformat(timespec="seconds"),
            }
            write_json_atomic(state_file, state)  # only now: every file of the resource is on disk

    try:
        for resource in order:
            if resource in results:  # inventory levels that came with the locations' bulk operation
                continue
            cursor = saved_cursor(resource)
            summary = ResourceSummary(cursor_before=cursor)
            use_bulk = config.backfill == "always" or (config.backfill == "auto" and cursor is None)
            if resource == "locations":
                levels_cursor = saved_cursor("inventory_levels")
                if "inventory_levels" in order and (config.backfill == "always" or (
                        config.backfill == "auto" and levels_cursor is None)):
                    # every location with every level, one bulk operation
                    levels = ResourceSummary(cursor_before=levels_cursor)
                    puller.bulk("locations", None, summary, levels)
                    results["locations"], results["inventory_levels"] = summary, levels
                    advance("locations", summary, "bulk")
                    advance("inventory_levels", levels, "bulk")
                    log.info("shopify graphql locations: %d records; inventory_levels: %d records",
                             summary.records, levels.records)
                    continue
                use_bulk = False
                puller.pages(resource, None, summary)  # the whole list, as REST
            elif resource == "inventory_levels":
                use_bulk = False
                gids = _location_gids(data_dir, results["locations"])
                puller.levels(cursor or _start_value(config.start_date), gids, summary)
            elif use_bulk:
                start = cursor or _start_value(config.start_date)
                puller.bulk(resource, queries.search_filter(start, until), summary)
                # the export covered everything up to the upper bound: a resource with nothing yet goes
                # on with pages from there, not with another bulk operation every run
                summary.cursor_after = summary.cursor_after or until
            else:
                overflow = puller.pages(resource, cursor, summary)
                for i in range(0, len(overflow), IDS_PER_BULK):  # records too big for a page, whole
                    ids = overflow[i:i + IDS_PER_BULK]
                    extra = ResourceSummary()
                    puller.bulk(resource, queries.search_filter(None, None, ids), extra)
                    summary.files += extra.files
                    summary.pages += extra.pages
                    summary.cursor_after = _newer(summary.cursor_after, extra.cursor_after)
            results[resource] = summary
            advance(resource, summary, "bulk" if use_bulk else "pages")
            log.info("shopify graphql %s: %d files, %d records", resource, summary.pages, summary.records)
    finally:
        client.close()
    return ShopifySummary(day=day, resources=results, seconds=time.monotonic() - started,
                          requests=client.requests, retries=client.retries, throttled_seconds=client.throttled)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m retention.live.shopify_graphql",
                                     description="Pull the Shopify Admin API (GraphQL, or REST) into the inbox.")
    parser.add_argument("--day", type=date.fromisoformat, default=datetime.now(UTC).date(),
                        help="delivery day (inbox folder), default today UTC")
    parser.add_argument("--data-dir", help="data directory (RETENTION_DATA_DIR, default ./data)")
    parser.add_argument("--start-date", help="first-run backfill start (SHOPIFY_START_DATE)")
    parser.add_argument("--backfill", choices=BACKFILL_MODES, help="SHOPIFY_BACKFILL (default auto)")
    parser.add_argument("--api", choices=("graphql", "rest"), default=os.environ.get("SHOPIFY_API") or "graphql",
                        help="SHOPIFY_API: the GraphQL Admin API (default) or the legacy REST pages")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    data_dir = DataDir(Path(args.data_dir).resolve()) if args.data_dir else DataDir.from_mapping(os.environ)
    if args.api == "rest":
        summary = pull_shopify(data_dir, args.day, ShopifyConfig.from_mapping(os.environ, start_date=args.start_date))
    else:
        config = ShopifyGraphQLConfig.from_mapping(os.environ, start_date=args.start_date, backfill=args.backfill)
        summary = pull_shopify_graphql(data_dir, args.day, config)
    print(json.dumps(summary.as_metadata(), indent=2))
    return 0
