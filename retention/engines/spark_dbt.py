"""dbt on a local Spark session, Python models included.

python -m retention.engines.spark_dbt <dbt arguments>   (e.g. build --target spark --project-dir dbt_project)

dbt-spark submits Python models only to Databricks clusters. A session target runs dbt in the same
process as the Spark session, so this runner adds a ``session`` submission method that runs a
Python model's compiled code right here, with that session as ``spark``: ``dbt.ref`` reads a table
as a Spark DataFrame, the model's own ``model()`` runs unchanged, and dbt-spark's generated tail
writes the result as a table of the project's file format (Parquet). Everything else is plain dbt,
invoked in-process through dbtRunner so the session (and its Derby metastore) is shared.

The session connection also binds a seed's values into its SQL as text, so an empty cell became the
string 'None' and a quote ended the literal; here an empty cell is a null and quotes are escaped.
"""

from __future__ import annotations

import sys
from datetime import datetime
from decimal import Decimal
from typing import Any

from dbt.adapters.base import PythonJobHelper

SESSION = "session"


class SessionPythonJobHelper(PythonJobHelper):
    """Runs a Python model's compiled code in this process, on the active Spark session."""

    def __init__(self, parsed_model: dict, credentials: Any) -> None:
        self.name = f"<{parsed_model['unique_id']}>"

    def submit(self, compiled_code: str) -> None:
        from pyspark.sql import SparkSession

        exec(compile(compiled_code, self.name, "exec"), {"spark": SparkSession.builder.getOrCreate()})


def sql_literal(value: Any) -> str | float:
    """A seed cell as Spark SQL: null, a number, or quoted text (Spark escapes with backslashes)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | Decimal):
        return float(value)
    if isinstance(value, datetime):
        value = value.strftime("%Y-%m-%d %H:%M:%S.%f")
    return "'" + str(value).replace("\\", "\\\\").replace("'", "\\'") + "'"


def complete_session_target() -> None:
    """Make ``session`` dbt-spark's (default) submission method; bind seed cells as SQL literals."""
    from dbt.adapters.spark.impl import SparkAdapter  # the `spark` dependency group only
    from dbt.adapters.spark.session import SessionConnectionWrapper

    helpers = SparkAdapter.python_submission_helpers.fget
    SparkAdapter.python_submission_helpers = property(lambda self: {**helpers(self), SESSION: SessionPythonJobHelper})
    SparkAdapter.default_python_submission_method = property(lambda self: SESSION)
    SessionConnectionWrapper._fix_binding = staticmethod(sql_literal)


def main(argv: list[str] | None = None) -> int:
    from dbt.cli.main import dbtRunner

    complete_session_target()
    result = dbtRunner().invoke(list(sys.argv[1:] if argv is None else argv))
    if result.exception is not None:
        print(f"dbt failed: {result.exception}", file=sys.stderr)
        return 2
    return 0 if result.success else 1


if __name__ == "__main__":
    sys.exit(main())
