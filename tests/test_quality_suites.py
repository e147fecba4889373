"""Expectation suites on landing partitions and frames: a clean simulated day passes, bad days
fail with the failing expectation named, and personal values only ever appear hashed."""

from __future__ import annotations

import shutil
from datetime import date

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from retention.ingest import SOURCE_TABLES
from retention.paths import DataDir
from retention.quality import suites
from retention.quality.validate import earlier_row_counts, minimum_rows, validate_frame, validate_partition
from tests.warehouse_fixtures import land_store

START, END = date(2025, 1, 1), date(2025, 2, 28)
DAY = date(2025, 2, 20)


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> DataDir:
    return land_store(tmp_path_factory.mktemp("store"), start=START, end=END)


def copy_of(store: DataDir, tmp_path, *tables: tuple[str, str]) -> DataDir:
    """The landing history of some tables, in a data dir of the test's own to spoil."""
    copy = DataDir(tmp_path / "data")
    for source, table in tables:
        shutil.copytree(store.landing / source / table, copy.landing / source / table)
    return copy


def rewrite(layout: DataDir, source: str, table: str, change) -> None:
    """Replace the DAY partition of a table with ``change(frame)`` (same column types unless changed)."""
    path = layout.landing_partition(source, table, DAY) / "part-0.parquet"
    original = pq.read_table(path)
    changed = change(original)
    if isinstance(changed, pd.DataFrame):
        changed = pa.Table.from_pandas(changed, schema=original.schema, preserve_index=False)
    pq.write_table(changed, path)


def failed(result) -> dict[tuple[str, str | None], object]:
    return {(f.expectation, f.column): f for f in result.failures}


def test_every_landing_table_has_rules():
    assert set(suites.RULES) == {(s, t) for s, tables in SOURCE_TABLES.items() for t in tables}


def test_a_clean_simulated_day_passes_every_table(store):
    for source, tables in SOURCE_TABLES.items():
        for table in tables:
            result = validate_partition(store, source, table, DAY)
            assert result.success, (source, table, result.markdown())
            assert result.evaluated > 5


def test_the_initial_sync_may_carry_old_history(store):
    # The first day delivers the store's back catalogue and customers: no late-data window applies.
    result = validate_partition(store, "shopify", "customers", START)
    assert result.success, result.markdown()
    assert result.context["window_start"] is None


def test_exact_redeliveries_are_not_duplicated_keys(store, tmp_path):
    layout = copy_of(store, tmp_path, ("shopify", "customers"))
    rewrite(layout, "shopify", "customers", lambda t: pa.concat_tables([t, t.slice(0, 3)]))
    result = validate_partition(layout, "shopify", "customers", DAY)
    assert result.success, result.markdown()
    assert result.context["redeliveries"] == 3


def test_duplicated_keys_fail(store, tmp_path):
    layout = copy_of(store, tmp_path, ("shopify", "customers"))

    def another_record_with_the_same_key(t: pa.Table) -> pd.DataFrame:
        frame = t.to_pandas()
        clash = frame.head(2).assign(first_name="Someone", _record_hash=lambda f: "x" + f["_record_hash"])
        return pd.concat([frame, clash])

    rewrite(layout, "shopify", "customers", another_record_with_the_same_key)
    result = validate_partition(layout, "shopify", "customers", DAY)
    assert not result.success
    unique = failed(result)[("expect_compound_columns_to_be_unique", "id, updated_at")]
    assert unique.unexpected_count == 4
    assert "expect_compound_columns_to_be_unique" in result.markdown()


def test_a_total_price_that_is_text_fails_its_type(store, tmp_path):
    layout = copy_of(store, tmp_path, ("shopify", "orders"))

    def as_text(t: pa.Table) -> pa.Table:
        index = t.schema.get_field_index("total_price")
        return t.set_column(index, "total_price", pc.cast(t["total_price"], pa.string()))

    rewrite(layout, "shopify", "orders", as_text)
    result = validate_partition(layout, "shopify", "orders", DAY)
    assert not result.success
    assert failed(result)[("expect_column_values_to_be_of_type", "total_price")].observed == "str"


def test_invalid_emails_fail_and_are_shown_hashed(store, tmp_path):
    layout = copy_of(store, tmp_path, ("shopify", "customers"))
    bad = ["jane.doe.example.com", "jane@", "two@@example.com"]

    def spoil(t: pa.Table) -> pd.DataFrame:
        frame = t.to_pandas()
        frame.loc[frame.index[:3], "email"] = bad
        return frame

    rewrite(layout, "shopify", "customers", spoil)
    result = validate_partition(layout, "shopify", "customers", DAY)
    email = failed(result)[("expect_column_values_to_match_regex", "email")]
    assert email.unexpected_count == 3
    assert email.examples and all(e.startswith("sha256:") for e in email.examples)
    assert not any(value in result.markdown() for value in bad)


def test_a_source_that_suddenly_halves_fails(store, tmp_path):
    layout = copy_of(store, tmp_path, ("web", "events"))
    clean = validate_partition(layout, "web", "events", DAY)
    assert clean.success and clean.context["trailing_median"] >= suites.VOLUME.min_median
    rewrite(layout, "web", "events", lambda t: t.slice(0, t.num_rows // 2))
    result = validate_partition(layout, "web", "events", DAY)
    assert not result.success
    volume = failed(result)[("expect_table_row_count_to_be_between", None)]
    assert int(volume.observed) < result.context["min_rows"] <= clean.rows


def test_timestamps_beyond_the_late_data_allowance_fail(store, tmp_path):
    layout = copy_of(store, tmp_path, ("web", "events"))
    day_start = pd.Timestamp(DAY, tz="UTC")

    def shift(days: float):
        def change(t: pa.Table) -> pd.DataFrame:
            frame = t.to_pandas()
            frame.loc[frame.index[:2], "occurred_at"] = day_start - pd.Timedelta(days=days)
            return frame
        return change

    rewrite(layout, "web", "events", shift(3))  # late, but within the allowance
    assert validate_partition(layout, "web", "events", DAY).success
    rewrite(layout, "web", "events", shift(10))
    result = validate_partition(layout, "web", "events", DAY)
    assert failed(result)[("expect_column_values_to_be_between", "occurred_at")].unexpected_count == 2


def test_child_rows_must_reference_a_parent_of_the_same_day(store, tmp_path):
    layout = copy_of(store, tmp_path, ("shopify", "orders"), ("shopify", "order_lines"))

    def orphan(t: pa.Table) -> pd.DataFrame:
        frame = t.to_pandas()
        frame.loc[frame.index[0], "order_id"] = 1
        return frame

    rewrite(layout, "shopify", "order_lines", orphan)
    result = validate_partition(layout, "shopify", "order_lines", DAY)
    assert failed(result)[("expect_column_values_to_be_in_set", "order_id")].unexpected_count == 1


def test_unknown_statuses_and_negative_amounts_fail(store, tmp_path):
    layout = copy_of(store, tmp_path, ("shopify", "orders"))

    def spoil(t: pa.Table) -> pd.DataFrame:
        frame = t.to_pandas()
        frame.loc[frame.index[0], "financial_status"] = "teleported"
        frame.loc[frame.index[1], "currency"] = "US$"
        frame.loc[frame.index[2], "total_discounts"] = -frame.loc[frame.index[2], "total_price"] - 1
        return frame

    rewrite(layout, "shopify", "orders", spoil)
    failures = failed(validate_partition(layout, "shopify", "orders", DAY))
    assert failures[("expect_column_values_to_be_in_set", "financial_status")].examples == ("teleported",)
    assert failures[("expect_column_values_to_be_in_set", "currency")].unexpected_count == 1
    assert failures[("expect_column_values_to_be_between", "total_discounts")].unexpected_count == 1


def test_a_missing_partition_fails(tmp_path):
    result = validate_partition(DataDir(tmp_path), "nps", "responses", DAY)
    assert not result.success and result.failures[0].expectation == "partition_exists"


def test_volume_is_judged_only_with_enough_history_and_rows():
    assert minimum_rows([200] * 7, suites.VOLUME) == (101, 200.0)  # exactly half fails
    assert minimum_rows([200, 200], suites.VOLUME) == (0, None)  # too little history
    assert minimum_rows([40] * 7, suites.VOLUME) == (0, 40.0)  # too few rows to tell chance from loss
    assert minimum_rows([1000] * 20 + [200] * 7, suites.VOLUME)[1] == 200.0  # the trailing week only


def test_the_volume_reads_the_trailing_partitions_before_the_day(tmp_path):
    layout = DataDir(tmp_path)
    table = tmp_path / "landing" / "web" / "events"
    for day in range(1, 13):  # 1 .. 12 rows on 2026-03-01 .. 12
        folder = table / f"date=2026-03-{day:02d}"
        folder.mkdir(parents=True)
        if day != 9:  # a day with nothing landed has no part file
            pq.write_table(pa.table({"n": list(range(day))}), folder / "part-0.parquet")
    counts = earlier_row_counts(layout, "web", "events", date(2026, 3, 11), 3)
    assert counts == [7, 8, 10]  # oldest first; the 11th and 12th are not earlier; the 9th has no part file
    assert earlier_row_counts(layout, "web", "events", date(2026, 3, 3), 7) == [1, 2]  # all there is
    assert earlier_row_counts(layout, "web", "events", date(2026, 3, 1), 7) == []  # the initial sync


def audience() -> pd.DataFrame:
    return pd.DataFrame({
        "customer_key": ["c1", "c2", "c3"],
        "email": ["ann@example.com", "bo@example.org", None],
        "phone": ["+14155550100", None, "+447700900123"],
        "email_consent": [True, True, False],
        "sms_consent": [True, False, True],
        "payload": ['{"segment": "at_risk"}'] * 3,
    })


def test_a_clean_audience_passes():
    result = validate_frame(audience(), "audience", payload="payload")
    assert result.success, result.markdown()


def test_a_bad_audience_names_what_is_wrong():
    frame = audience()
    frame.loc[1, "customer_key"] = "c1"
    frame.loc[0, "email"] = "Ann@Example.com "
    frame.loc[2, "phone"] = "(415) 555-0100"
    frame["sms_consent"] = ["yes", "no", "yes"]
    frame.loc[1, "payload"] = ""
    failures = failed(validate_frame(frame, "audience", payload="payload"))
    assert failures[("expect_column_values_to_be_unique", "customer_key")].unexpected_count == 2
    assert failures[("expect_column_values_to_match_regex", "email")].examples[0].startswith("sha256:")
    assert ("expect_column_values_to_match_regex", "phone") in failures
    assert ("expect_column_values_to_be_in_set", "sms_consent") in failures
    assert ("expect_column_value_lengths_to_be_between", "payload") in failures


def test_a_failure_is_described_as_gx_summarises_it_and_a_pass_is_not_summarised(monkeypatch):
    """A suite runs without gathering unexpected values (GX's BOOLEAN_ONLY), and again with them
    (SUMMARY) only when a check failed: the failures read exactly as a SUMMARY run alone gives them."""
    from great_expectations.datasource.fluent.interfaces import Batch

    from retention.quality.validate import _result

    original = Batch.validate
    formats, alone = [], []

    def recording(self, *args, result_format=None, **kwargs):
        formats.append(result_format)
        if result_format == "BOOLEAN_ONLY":  # what SUMMARY alone gives for the same input
            alone.append(original(self, *args, result_format="SUMMARY", **kwargs))
        return original(self, *args, result_format=result_format, **kwargs)

    monkeypatch.setattr(Batch, "validate", recording)
    assert validate_frame(audience(), "audience", payload="payload").success
    assert formats == ["BOOLEAN_ONLY"]
    frame = audience()
    frame.loc[1, "customer_key"] = "c1"
    frame.loc[0, "email"] = "Ann@Example.com "
    described = validate_frame(frame, "audience", payload="payload")
    assert formats == ["BOOLEAN_ONLY", "BOOLEAN_ONLY", "SUMMARY"]
    assert described.failures == _result("audience", frame, alone[-1], {}).failures
    assert failed(described)[("expect_column_values_to_be_unique", "customer_key")].examples == ("c1",)


def test_an_empty_audience_fails():
    result = validate_frame(audience().head(0), "audience")
    assert ("expect_table_row_count_to_be_between", None) in failed(result)


def test_a_landing_suite_can_judge_any_frame(store):
    path = store.landing_partition("web", "events", DAY) / "part-0.parquet"
    frame = pd.read_parquet(path, dtype_backend="numpy_nullable")
    assert validate_frame(frame, "landing.web.events").success
    frame.loc[frame.index[0], "event_type"] = "teleport"
    assert ("expect_column_values_to_be_in_set", "event_type") in failed(validate_frame(frame, "landing.web.events"))


def test_unknown_suites_are_refused():
    with pytest.raises(ValueError, match="unknown suite"):
        validate_frame(audience(), "nothing")
