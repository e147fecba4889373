"""``python -m retention.privacy erase|export --email ADDRESS [--phone NUMBER] [--shopify-customer-id ID]``
and ``python -m retention.privacy requests`` (the landed Shopify privacy webhooks).

The data directory is ``RETENTION_DATA_DIR``; Dagster's storage (``DAGSTER_HOME``) is scrubbed too.
What is printed is counts and hashes, never the identifiers given.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import orjson

from retention.paths import DataDir
from retention.privacy import Subject, act_on_landed, erase, export


def main(argv: list[str] | None = None, env: dict[str, str] | None = None) -> int:
    env = dict(os.environ if env is None else env)
    parser = argparse.ArgumentParser(prog="python -m retention.privacy", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    for name, what in (("erase", "remove the person from every store and keep a tombstone"),
                       ("export", "write one JSON document of everything held about the person")):
        command = commands.add_parser(name, help=what)
        command.add_argument("--email")
        command.add_argument("--phone")
        command.add_argument("--shopify-customer-id", type=int)
    commands.add_parser("requests", help="act on the Shopify privacy requests landed and not yet done")
    args = parser.parse_args(argv)
    data_dir = DataDir.from_mapping(env)
    if not data_dir.root.is_dir():
        print(f"privacy request refused: no data directory at {data_dir.root} (RETENTION_DATA_DIR)", file=sys.stderr)
        return 2
    dagster = [Path(env["DAGSTER_HOME"])] if env.get("DAGSTER_HOME") else []
    try:
        if args.command == "requests":
            reports = act_on_landed(data_dir, dagster)
        else:
            subject = Subject(args.email, args.phone, args.shopify_customer_id)
            reports = [erase(data_dir, subject, also=dagster) if args.command == "erase"
                       else export(data_dir, subject)]
    except ValueError as exc:
        print(f"privacy request refused: {exc}", file=sys.stderr)
        return 2
    for report in reports:
        print(orjson.dumps(report.log_line()).decode())
    return 0


if __name__ == "__main__":
    sys.exit(main())
