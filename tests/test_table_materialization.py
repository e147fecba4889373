"""The project's table materialization on DuckDB (dbt_project/macros/table_materialization.sql):
a table is dropped and created again inside one transaction, so a model that fails keeps the table
it had; a Python model (which writes through a connection of its own) is built aside, then swapped
in. Checked on a throwaway dbt project that uses the project's macro file as it is."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from tests.warehouse_fixtures import DBT_PROJECT

MODEL_SQL = """\
{{ config(post_hook="insert into hook_log select '{{ this.identifier }}', " ~ var('x')) }}
select {{ var('x') }} as x
{% if var('fail', false) %}union all select cast(error('a planted failure') as integer){% endif %}
"""
PYTHON_MODEL = """\
def model(dbt, session):
    return dbt.ref("numbers").df().assign(doubled=lambda f: f["x"] * 2)
"""
CONTRACT_YML = """\
version: 2
models:
  - name: numbers
    config:
      contract: {enforced: true}
    columns:
      - name: x
        data_type: integer
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    (root / "models").mkdir(parents=True)
    (root / "macros").mkdir()
    shutil.copy(DBT_PROJECT / "macros" / "table_materialization.sql", root / "macros")
    (root / "dbt_project.yml").write_text(
        "name: materialization_check\nversion: '1.0'\nprofile: materialization_check\n"
        "models:\n  materialization_check:\n    +materialized: table\n"
        "on-run-start: [\"create table if not exists hook_log (model varchar, x integer)\"]\n")
    (root / "profiles.yml").write_text(
        "materialization_check:\n  target: local\n  outputs:\n    local:\n      type: duckdb\n"
        f"      path: {tmp_path / 'warehouse.duckdb'}\n      threads: 1\n")
    (root / "models" / "numbers.sql").write_text(MODEL_SQL)
    (root / "models" / "doubled.py").write_text(PYTHON_MODEL)
    (root / "models" / "schema.yml").write_text(CONTRACT_YML)
    return root


def run(project: Path, **variables) -> subprocess.CompletedProcess:
    dbt = str(Path(sys.executable).with_name("dbt"))
    return subprocess.run([dbt, "run", "--project-dir", str(project), "--profiles-dir", str(project),
                           "--vars", json.dumps(variables)], capture_output=True, text=True, cwd=project,
                          env={**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"})


def tables(project: Path) -> dict[str, list]:
    with duckdb.connect(str(project.parent / "warehouse.duckdb"), read_only=True) as con:
        names = [n for (n,) in con.execute("select table_name from duckdb_tables() order by 1").fetchall()]
        return {n: con.execute(f'select * from "{n}" order by all').fetchall() for n in names}


def test_a_table_is_replaced_and_a_failed_build_keeps_the_old_one(project):
    first = run(project, x=1)
    assert first.returncode == 0, first.stdout[-3000:]
    assert tables(project) == {"doubled": [(1, 2)], "hook_log": [("numbers", 1)], "numbers": [(1,)]}

    again = run(project, x=2)
    assert again.returncode == 0, again.stdout[-3000:]
    # replaced, the contract's types kept, the hook run, nothing left beside them (no temporary or backup table)
    assert tables(project) == {"doubled": [(2, 4)], "hook_log": [("numbers", 1), ("numbers", 2)],
                               "numbers": [(2,)]}
    with duckdb.connect(str(project.parent / "warehouse.duckdb"), read_only=True) as con:
        assert con.execute("select data_type from information_schema.columns "
                           "where table_name = 'numbers'").fetchall() == [("INTEGER",)]

    failed = run(project, x=3, fail=True)
    assert failed.returncode == 1 and "a planted failure" in failed.stdout
    # the drop rolled back with the failed create: the last good tables, the hook not run
    assert tables(project) == {"doubled": [(2, 4)], "hook_log": [("numbers", 1), ("numbers", 2)],
                               "numbers": [(2,)]}
