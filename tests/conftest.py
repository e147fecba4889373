"""Shared fixtures and the test tiers.

Fixtures used by more than one module are declared here, once. Plain helpers stay in small
modules that tests import: ``tests/fixtures.py`` (where the providers' payloads are),
``tests/warehouse_fixtures.py`` (simulate and land a store, run dbt), ``tests/activation_fixtures.py``
(campaign files and audience rows) and ``tests/fakes/`` (local stand-ins of SendGrid, Twilio and
Shopify). No test module imports another.

Tiers: the modules in SLOW_MODULES are marked ``slow`` (they simulate and land stores, build
the warehouse with dbt, run Dagster jobs on a simulated store, start the pipeline's processes,
drive a browser or run the benchmark). ``make test-fast`` runs the rest (``-m "not slow"``)
and the dbt unit tests; ``make test`` runs everything.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fakes.providers import STOP_NUMBER, FakeSendGrid, FakeTwilio
from tests.postgres import postgres_server, postgres_url  # noqa: F401  (fixtures: a throwaway Postgres server)

# Every test in these modules is slow: they simulate stores, build with dbt, load the Dagster
# definitions or start processes (minutes on a loaded 2-core machine, not seconds).
SLOW_MODULES = frozenset({
    "test_duckdb_config",           # dbt started twice to read the settings it gives DuckDB
    "test_activation_pipeline",     # dbt build of a simulated store, Dagster jobs, the pipeline in subprocesses
    "test_warehouse_experiments",   # dbt builds and Dagster jobs on a simulated store with the shipped experiment
    "test_warehouse_subscriptions",  # a simulated store with product subscriptions, landed and built with dbt
    "test_activation_concurrency",  # concurrent activations and a kill -9 in subprocesses
    "test_activation_ledger_backends",  # two claiming processes on each ledger backend
    "test_dagster_postgres",        # a Dagster run on an instance stored in a throwaway Postgres server
    "test_activation_discounts",    # kill -9 of the engine in subprocesses, then reruns
    "test_activation_log_privacy",  # Dagster runs of the activation asset with every log captured
    "test_bench",                   # the benchmark on a simulated store
    "test_bench_peers",             # the harness's fit comparison in subprocesses, fits on 30,000 customers
    "test_browser",                 # the Dagster UI in a browser over a materialized demo store
    "test_daily_run",               # Dagster jobs on a simulated store
    "test_faults",                  # kill -9 of ingestion, dbt builds and activation in subprocesses, then reruns
    "test_demo",                    # the demo's history run through Dagster on a simulated store
    "test_definitions",             # loads the whole Dagster definitions (~60 s of imports under load)
    "test_ingest_faults",           # kill -9 of writers in subprocesses mid-write, then reruns
    "test_ingest_days",             # days landed in spawned processes
    "test_ingest_properties",       # thousands of generated files through every parser (Hypothesis)
    "test_intraday",                # dbt builds and Dagster jobs on a simulated store
    "test_live_pipeline",           # the whole Dagster definitions, assets materialized
    "test_live_receiver_hardening", # the receiver in subprocesses (kill -9, memory), bursts, slow clients
    "test_live_webhooks",           # the webhook receiver in a subprocess, restarts under load
    "test_privacy_erasure",         # a simulated store built, activated, erased through Dagster, rebuilt
    "test_privacy_export",          # a simulated store built; the command in a subprocess
    "test_quality_checks",          # Dagster checks on a landed simulated store
    "test_quality_suites",          # simulates and lands a store
    "test_reports",                 # dbt build of a simulated store
    "test_simulate",                # simulates several stores, the simulator's CLI in subprocesses
    "test_warehouse",               # dbt builds of a simulated store
    "test_warehouse_audiences",
    "test_warehouse_inventory",
    "test_warehouse_metrics",
    "test_metrics_web_reviews",     # a simulated store and a dbt build of metrics_daily, review_sentiment and cohort_cltv
    "test_warehouse_predictions",
    "test_warehouse_suppressions",
    "test_warehouse_redemptions",   # the demo's steps on a small store
    "test_warehouse_referrals",     # a store that plants referrals, landed and built with dbt
})


def _module_name(path) -> str:
    return Path(str(path)).stem


def pytest_ignore_collect(collection_path, config):
    """With ``-m "not slow"`` the slow modules are not even imported: their imports (Dagster's
    definitions, Great Expectations, playwright) would cost the fast tier a minute."""
    if collection_path.suffix != ".py" or _module_name(collection_path) not in SLOW_MODULES:
        return None
    markexpr = config.getoption("markexpr", "") or ""
    if not markexpr:
        return None
    try:
        from _pytest.mark.expression import Expression
    except ImportError:  # pragma: no cover - private API moved: collect, the markers still deselect
        return None
    # a test marked only `slow`: would the expression select it? (`-m "not slow"` does not)
    selected = Expression.compile(markexpr).evaluate(lambda name, **kwargs: name == "slow")
    return True if not selected else None


# The longest module of the fast tier goes first, so with two workers (make test-fast) the
# other worker runs everything else meanwhile.
FIRST_MODULES = ("test_dbt_unit_tests",)


def pytest_collection_modifyitems(config, items):
    for item in items:
        if _module_name(item.path) in SLOW_MODULES:
            item.add_marker(pytest.mark.slow)
    items.sort(key=lambda item: _module_name(item.path) not in FIRST_MODULES)  # stable: the rest keep their order


@pytest.fixture(params=["sqlite", "postgres"])
def ledger_at(request, tmp_path) -> str:
    """Where a test's send ledger lives, once per backend: a SQLite file in the test's directory, or
    a database of its own on the test Postgres server (``tests/postgres.py``)."""
    if request.param == "postgres":
        return request.getfixturevalue("postgres_url")
    return str(tmp_path / "activation" / "ledger.sqlite")


@pytest.fixture
def fake_sendgrid():
    """A local SendGrid stand-in (tests/fakes/providers.py), stopped after the test."""
    with FakeSendGrid() as server:
        yield server


@pytest.fixture
def fake_twilio():
    """A local Twilio stand-in that answers 21610 (replied STOP) for STOP_NUMBER."""
    with FakeTwilio(stop_numbers={STOP_NUMBER}) as server:
        yield server


@pytest.fixture(scope="session")
def privacy_store(tmp_path_factory):
    """A store activated into the outbox and reported (``tests/privacy_fixtures.py``), built once for
    the erasure and the export tests, which each work on a copy."""
    from retention.paths import DATA_DIR_ENV
    from tests.privacy_fixtures import PROVIDER_KEYS, build_activated_store

    root = tmp_path_factory.mktemp("privacy_store")
    with pytest.MonkeyPatch.context() as patch:
        for key in PROVIDER_KEYS:
            patch.delenv(key, raising=False)  # no API keys: the bodies go to the outbox
        patch.setenv(DATA_DIR_ENV, str(root))
        build_activated_store(root)
    return root
