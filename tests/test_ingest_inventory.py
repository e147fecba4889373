"""Shopify locations and inventory levels: typed landing rows with lineage, and quarantine with a
reason for a level that breaks a rule (missing ids, a quantity that is not an integer)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import orjson
import pyarrow as pa
import pyarrow.parquet as pq

from retention.ingest import SOURCE_TABLES, ingest_day
from retention.paths import DataDir

DAY = date(2026, 3, 14)
LOCATION = {
    "id": 655441491, "name": "Main Warehouse", "address1": "126 York Street", "address2": "", "city": "Ottawa",
    "zip": "K1N 5T5", "province": "Ontario", "country": "CA", "phone": "555-555-5555",
    "created_at": "2026-01-05T09:30:00-05:00", "updated_at": "2026-03-14T10:15:00-04:00", "country_code": "CA",
    "country_name": "Canada", "province_code": "ON", "legacy": False, "active": True,
    "admin_graphql_api_id": "gid://shopify/Location/655441491",
}


def level(item, location=655441491, available=12, updated_at="2026-03-14T11:00:00-04:00") -> dict:
    return {"inventory_item_id": item, "location_id": location, "available": available, "updated_at": updated_at,
            "admin_graphql_api_id": f"gid://shopify/InventoryLevel/{location}?inventory_item_id={item}"}


def deliver(tmp_path, files: dict[str, object]) -> DataDir:
    data = DataDir(tmp_path / "data")
    folder = data.inbox_day("shopify", DAY)
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        (folder / name).write_bytes(orjson.dumps(content))
    return data


def table(data: DataDir, zone: str, name: str) -> pa.Table:
    root = data.landing_partition if zone == "landing" else data.quarantine_partition
    return pq.read_table(root("shopify", name, DAY) / "part-0.parquet")


def test_the_tables_are_shopify_landing_tables():
    assert {"locations", "inventory_levels"} <= set(SOURCE_TABLES["shopify"])


def test_levels_and_locations_land_typed_with_lineage(tmp_path):
    untracked = level(808950812, available=None)
    oversold = level(808950813, available=-3, updated_at="2026-03-14T15:00:00Z")
    data = deliver(tmp_path, {
        "locations-0001.json": {"locations": [LOCATION]},
        "inventory_levels-0001.json": {"inventory_levels": [level(808950810), untracked, oversold]},
        "adjust.json": {"inventory_level": level(808950810, available=9, updated_at="2026-03-14T12:00:00-04:00")},
    })
    report = ingest_day(data, "shopify", DAY)
    assert report.quarantined == 0 and report.warnings == {}
    assert report.tables["inventory_levels"].landed == 4 and report.tables["locations"].landed == 1

    levels = table(data, "landing", "inventory_levels")
    for column in ("inventory_item_id", "location_id", "available"):
        assert levels.schema.field(column).type == pa.int64()
    assert levels.schema.field("updated_at").type == pa.timestamp("us", tz="UTC")
    rows = sorted(levels.to_pylist(), key=lambda r: (r["inventory_item_id"], r["updated_at"]))
    assert [r["available"] for r in rows] == [12, 9, None, -3]  # null: not tracked; negative: oversold
    first = rows[0]
    assert first["updated_at"] == datetime(2026, 3, 14, 15, 0, tzinfo=UTC)  # -04:00 to UTC
    assert first["_source_file"] == "shopify/2026-03-14/inventory_levels-0001.json" and first["_record_index"] == 0
    assert len(first["_record_hash"]) == 64 and orjson.loads(first["_raw"]) == level(808950810)
    assert first["_ingested_at"] is not None

    [location] = table(data, "landing", "locations").to_pylist()
    assert location["id"] == 655441491 and location["name"] == "Main Warehouse" and location["active"] is True
    assert location["updated_at"] == datetime(2026, 3, 14, 14, 15, tzinfo=UTC)
    assert location["_source_file"] == "shopify/2026-03-14/locations-0001.json"


def test_malformed_levels_go_to_quarantine_with_a_reason(tmp_path):
    no_item = level(None)
    del no_item["inventory_item_id"]
    data = deliver(tmp_path, {"inventory_levels-0001.json": {"inventory_levels": [
        level(808950810), no_item, level(808950811, available="12 units"), level(808950814, available=2.5),
        level(808950815, location="warehouse"), level(808950816, updated_at="yesterday"), "not a level",
    ]}, "locations-0001.json": {"locations": [{**LOCATION, "id": None}]}})
    report = ingest_day(data, "shopify", DAY)

    counts = report.tables["inventory_levels"]
    assert (counts.records_in, counts.landed, counts.quarantined) == (7, 1, 6)  # in = landed + quarantined
    assert report.tables["locations"].quarantined == 1
    rejects = {r["_record_index"]: r for r in table(data, "quarantine", "inventory_levels").to_pylist()}
    assert rejects[1]["reason"] == ("shopify inventory_levels record 1 of inventory_levels-0001.json "
                                    "(id None@655441491): inventory_item_id: missing")
    assert rejects[2]["record_id"] == "808950811@655441491"
    assert rejects[2]["reason"].endswith("available: not a 64-bit integer: '12 units'")
    assert rejects[2]["reason_group"] == "inventory_levels: available: not a 64-bit integer"
    assert rejects[3]["reason"].endswith("available: not a 64-bit integer: 2.5")
    assert rejects[4]["reason"].endswith("location_id: not a 64-bit integer: 'warehouse'")
    assert rejects[5]["reason"].endswith("updated_at: invalid timestamp: 'yesterday'")
    assert rejects[6]["reason"].endswith("record: not a JSON object: 'not a level'")
    assert orjson.loads(rejects[2]["raw"]) == level(808950811, available="12 units")
    [location] = table(data, "quarantine", "locations").to_pylist()
    assert location["reason"].endswith("id: missing")
