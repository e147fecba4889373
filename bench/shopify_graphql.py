"""Records/s of the Shopify GraphQL bulk backfill against the local fake GraphQL Admin API.

    python -m bench.shopify_graphql [--records 20000]

The fake (``tests/fakes/shopify_graphql.py``) serves a prebuilt bulk result of N orders (Shopify's
REST fixture order as a GraphQL node: 3 line items, a refund with 2 refund lines, discount
applications; its line items on lines of their own with ``__parentId``). Measured separately:

- ``pull``: ``pull_shopify_graphql`` end to end on loopback: bulkOperationRunQuery, one poll
  (the fake completes at once, the clock is a fake one so no poll interval is slept), the JSONL
  streamed to the inbox (fsynced, renamed) with the records counted and the cursor found;
- ``ingest``: ``retention.ingest.parse_files`` of that file: children attached to their parents,
  GraphQL -> REST rewrite, typing into the landing rows (orders, order lines, refunds...).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from datetime import date
from pathlib import Path

from retention.ingest import parse_files
from retention.live.shopify_graphql import pull_shopify_graphql
from retention.paths import DataDir
from tests.fakes.shopify_graphql import NODE, FakeClock, FakeShopifyGraphQL, bulk_jsonl, config, rest_records


def orders_jsonl(n: int) -> bytes:
    template = bulk_jsonl("orders", [NODE["orders"](rest_records("orders")[0])]).decode()
    lines = template.splitlines()
    out = []
    for i in range(n):
        oid = 10_000_000 + i
        for line in lines:
            out.append(line.replace("Order\\/450789469", f"Order\\/{oid}")
                       .replace("Refund\\/509562969", f"Refund\\/{oid}"))
    return ("\n".join(out) + "\n").encode()


def run(records: int) -> dict:
    body = orders_jsonl(records)
    root = Path(tempfile.mkdtemp(prefix="shopify-graphql-bench-"))
    data_dir = DataDir(root)
    day = date(2026, 7, 14)
    with FakeShopifyGraphQL(running_polls=0) as fake:
        fake.bulk_bodies["orders"] = body
        started = time.perf_counter()
        summary = pull_shopify_graphql(data_dir, day, config(fake, resources=("orders",)), clock=FakeClock())
        pull_s = time.perf_counter() - started
    files = sorted(data_dir.inbox_day("shopify", day).iterdir())
    started = time.perf_counter()
    parsed = parse_files("shopify", files, data_dir.inbox)
    ingest_s = time.perf_counter() - started
    assert summary.records == records and parsed.counts["orders"].landed == records, (summary, parsed.counts)
    return {
        "records": records, "jsonl_lines": body.count(b"\n"), "jsonl_mb": round(len(body) / 1e6, 2),
        "pull_s": round(pull_s, 3), "pull_records_per_s": round(records / pull_s),
        "ingest_s": round(ingest_s, 3), "ingest_records_per_s": round(records / ingest_s),
        "order_lines_landed": parsed.counts["order_lines"].landed,
        "end_to_end_records_per_s": round(records / (pull_s + ingest_s)),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.shopify_graphql", description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=20_000, help="orders in the bulk result (default 20000)")
    args = parser.parse_args(argv)
    print(json.dumps(run(args.records), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
