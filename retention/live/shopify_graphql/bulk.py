"""Bulk operations: ``bulkOperationRunQuery`` -> poll the operation (``node(id:)``) until it is
``COMPLETED`` -> download the JSONL at ``url`` into ``inbox/shopify/<day>/gql-bulk-<resource>-NNNN.jsonl``
unchanged (streamed to a hidden temp file, fsynced, renamed into place)."""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import orjson

from retention.live.inbox_writer import fsync_dir
from retention.live.shopify_api import _parse_ts
from retention.live.shopify_graphql import queries
from retention.live.shopify_graphql.client import GraphQLClient, ShopifyGraphQLError, download

FINISHED_BAD = {"FAILED", "CANCELED", "CANCELLED", "EXPIRED"}
_PARENT = b'"__parentId"'
_LEVEL = b"gid://shopify/InventoryLevel/"
_LEVEL_ESCAPED = b"gid:\\/\\/shopify\\/InventoryLevel\\/"


@dataclass
class BulkResult:
    operation_id: str
    file: Path | None = None
    objects: int = 0  # every line
    roots: int = 0  # top-level objects (records)
    levels: int = 0  # InventoryLevel lines (records of inventory_levels)
    newest: str | None = None  # greatest updatedAt of the top-level objects
    newest_level: str | None = None
    polls: int = 0
    files: list[str] = field(default_factory=list)


def _later(a: str | None, b) -> str | None:
    if not isinstance(b, str):
        return a
    if a is None:
        return b
    try:
        return b if _parse_ts(b) > _parse_ts(a) else a
    except ValueError:
        return a


def start(client: GraphQLClient, resource: str, query: str) -> str:
    _, doc = client.execute(queries.RUN_BULK, {"query": query}, resource)
    result = doc["data"].get("bulkOperationRunQuery") or {}
    errors = result.get("userErrors") or []
    if errors:
        text = "; ".join(f"{e.get('message')}" + (f" ({'.'.join(map(str, e['field']))})" if e.get("field") else "")
                         for e in errors if isinstance(e, dict))
        raise ShopifyGraphQLError(f"{resource}: bulkOperationRunQuery refused: {text}")
    operation = result.get("bulkOperation") or {}
    if not operation.get("id"):
        raise ShopifyGraphQLError(f"{resource}: bulkOperationRunQuery returned no operation")
    return operation["id"]


def wait(client: GraphQLClient, resource: str, operation_id: str) -> tuple[dict, int]:
    """The finished operation (``COMPLETED``), polling with a growing interval on the client's clock."""
    config, clock = client.config, client.clock
    interval, started, polls = config.poll_interval, clock.now(), 0
    while True:
        _, doc = client.execute(queries.POLL_BULK, {"id": operation_id}, resource)
        polls += 1
        op = doc["data"].get("node") or {}
        status = op.get("status")
        if status == "COMPLETED":
            return op, polls
        if status in FINISHED_BAD:
            raise ShopifyGraphQLError(f"{resource}: bulk operation {operation_id} ended {status}"
                                      + (f" ({op.get('errorCode')})" if op.get("errorCode") else ""))
        if clock.now() - started > config.bulk_timeout:
            raise ShopifyGraphQLError(f"{resource}: bulk operation {operation_id} still {status} after "
                                      f"{config.bulk_timeout:.0f}s")
        clock.sleep(interval)
        interval = min(interval * 1.5, config.poll_interval_max)


def run(client: GraphQLClient, folder: Path, name: str, resource: str, query: str) -> BulkResult:
    """Run one bulk query and write its result as ``folder/name`` (nothing when it found nothing)."""
    operation_id = start(client, resource, query)
    op, polls = wait(client, resource, operation_id)
    result = BulkResult(operation_id, polls=polls)
    url = op.get("url")
    if not url:  # no object matched: Shopify gives no file
        return result
    final = folder / name
    tmp = folder / f".{name}.{uuid.uuid4().hex}.tmp"
    state = {"fh": None, "tail": b""}

    def write(chunk: bytes | None) -> None:
        if chunk is None:  # (re)start
            if state["fh"] is not None:
                state["fh"].close()
            state["fh"] = open(tmp, "wb")
            state["tail"] = b""
            result.objects = result.roots = result.levels = 0
            result.newest = result.newest_level = None
            return
        state["fh"].write(chunk)
        lines = (state["tail"] + chunk).split(b"\n")
        state["tail"] = lines.pop()
        for line in lines:
            _count(result, line)

    try:
        download(url, write, client.config, client.clock, resource)
        if state["tail"]:
            _count(result, state["tail"])
        fh = state["fh"]
        fh.flush()
        os.fsync(fh.fileno())
        fh.close()
        os.replace(tmp, final)
        fsync_dir(folder)
    finally:
        if state["fh"] is not None and not state["fh"].closed:
            state["fh"].close()
        tmp.unlink(missing_ok=True)
    result.file = final
    return result


def _count(result: BulkResult, line: bytes) -> None:
    if not line.strip():
        return
    result.objects += 1
    if _PARENT in line:
        if _LEVEL in line or _LEVEL_ESCAPED in line:
            result.levels += 1
            try:
                result.newest_level = _later(result.newest_level, orjson.loads(line).get("updatedAt"))
            except orjson.JSONDecodeError:
                pass
        return
    result.roots += 1
    try:
        obj = orjson.loads(line)
    except orjson.JSONDecodeError:
        return
    if isinstance(obj, dict):
        result.newest = _later(result.newest, obj.get("updatedAt"))
