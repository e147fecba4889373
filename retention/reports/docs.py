"""The dbt docs site as one static page (`dbt docs generate --static`), copied into the data directory.

`make docs` and the demo both call `build_docs`. dbt's target and logs go to a scratch directory,
so the project's own manifest (which Dagster loads) is never rewritten underneath a running UI.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

from retention.paths import DATA_DIR_ENV, DataDir
from retention.reports.exports import write_atomically

DBT_PROJECT = Path(__file__).resolve().parents[2] / "dbt_project"


class DocsError(RuntimeError):
    pass


def docs_page(data_dir: DataDir) -> Path:
    return data_dir.root / "docs" / "index.html"


def build_docs(data_dir: DataDir, dbt: Path | None = None) -> Path:
    """Generates the docs against the data directory's warehouse and returns the page's path."""
    if not data_dir.warehouse.exists():
        # dbt would create an empty warehouse and document nothing
        raise DocsError(f"no warehouse at {data_dir.warehouse}: build it first (make demo)")
    dbt = dbt or Path(sys.executable).with_name("dbt")  # the dbt beside this interpreter
    env = {**os.environ, DATA_DIR_ENV: str(data_dir.root), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    with tempfile.TemporaryDirectory(prefix="dbt-docs-") as scratch:
        target = Path(scratch) / "target"
        command = [str(dbt), "docs", "generate", "--static", "--project-dir", str(DBT_PROJECT),
                   "--profiles-dir", str(DBT_PROJECT), "--target-path", str(target), "--log-path", str(Path(scratch) / "logs")]
        done = subprocess.run(command, env=env, cwd=DBT_PROJECT.parent, capture_output=True, text=True)
        page = target / "static_index.html"
        if done.returncode != 0 or not page.exists():
            raise DocsError(f"dbt docs generate failed (exit {done.returncode}):\n" + "\n".join(done.stdout.splitlines()[-30:]))
        write_atomically(docs_page(data_dir), page.read_bytes())
    return docs_page(data_dir)


if __name__ == "__main__":
    try:
        print(f"dbt docs: {build_docs(DataDir.from_env())}")
    except DocsError as error:
        print(error, file=sys.stderr)
        raise SystemExit(1)
