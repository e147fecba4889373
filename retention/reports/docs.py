"""The dbt docs site as one static page (`dbt docs generate --static`), copied into the data directory.

`make docs` and the demo both call `build_docs`. dbt's target and logs go to a scratch directory,
so the project's own manifest (which Dagster loads) is never rewritten underneath a running UI.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from retention.dbt_build import data_dir_vars
from retention.paths import DataDir
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
    with tempfile.TemporaryDirectory(prefix="dbt-docs-") as scratch:
        target = Path(scratch) / "target"
        # the data directory goes to dbt as vars (profiles.yml and the sources read them), so the
        # subprocess inherits this process's environment unchanged
        command = [str(dbt), "--no-send-anonymous-usage-stats", "docs", "generate", "--static",
                   "--vars", json.dumps(data_dir_vars(data_dir)), "--project-dir", str(DBT_PROJECT),
                   "--profiles-dir", str(DBT_PROJECT), "--target-path", str(target), "--log-path", str(Path(scratch) / "logs")]
        done = subprocess.run(command, cwd=DBT_PROJECT.parent, capture_output=True, text=True)
        page = target / "static_index.html"
        if done.returncode != 0 or not page.exists():
            raise DocsError(f"dbt docs generate failed (exit {done.returncode}):\n" + "\n".join(done.stdout.splitlines()[-30:]))
        write_atomically(docs_page(data_dir), page.read_bytes())
    return docs_page(data_dir)


def main() -> int:
    try:
        print(f"dbt docs: {build_docs(DataDir.from_mapping(os.environ))}")
    except DocsError as error:
        print(error, file=sys.stderr)
        raise SystemExit(1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
