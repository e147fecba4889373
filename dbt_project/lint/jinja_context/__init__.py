"""What sqlfluff's jinja templater needs to render this dbt project without a warehouse.

Only for linting (.sqlfluff at the repository root points `library_path` here): every name below
becomes a variable of the Jinja context. `dbt.*` renders the DuckDB SQL of dbt's cross-database
macros, `adapter.dispatch` finds the project's own `duckdb__` / `default__` macro, `var` answers
with the defaults of dbt_project.yml, and nothing reads a warehouse (`execute` is false).
"""

from __future__ import annotations

import datetime as _datetime
import os
import re as _re
from pathlib import Path
from types import SimpleNamespace

import jinja2
import yaml
from sqlfluff.core.templaters.builtins.dbt import MacroReturn

_PROJECT = yaml.safe_load((Path(__file__).resolve().parents[2] / "dbt_project.yml").read_text())
_VARS = _PROJECT.get("vars", {})

execute = False


def var(name, default=None):
    """The project's default for a var (dbt_project.yml), else the default given."""
    return _VARS.get(name, default)


def env_var(name, default=""):
    return os.environ.get(name, default)


def run_query(sql):
    return None


class _Dbt:
    """dbt's cross-database macros as DuckDB renders them."""

    @staticmethod
    def cast(expr, type_):
        return f"cast({expr} as {type_})"

    @staticmethod
    def dateadd(datepart, interval, from_date_or_timestamp):
        return f"{from_date_or_timestamp} + (interval '1 {datepart}' * ({interval}))"

    @staticmethod
    def datediff(first_date, second_date, datepart):
        return f"date_diff('{datepart}', {first_date}::timestamp, {second_date}::timestamp)"

    @staticmethod
    def date_trunc(datepart, date):
        return f"date_trunc('{datepart}', {date})"

    @staticmethod
    def concat(fields):
        return " || ".join(str(f) for f in fields)

    @staticmethod
    def string_literal(value):
        return "'" + str(value).replace("'", "''") + "'"

    @staticmethod
    def length(expression):
        return f"length({expression})"

    @staticmethod
    def split_part(string_text, delimiter_text, part_number):
        return f"split_part({string_text}, {delimiter_text}, {part_number})"

    @staticmethod
    def hash(field):
        return f"md5(cast({field} as varchar))"

    @staticmethod
    def listagg(measure, delimiter_text="','", order_by_clause=None, limit_num=None):
        return f"string_agg({measure}, {delimiter_text} {order_by_clause or ''})"

    type_string = staticmethod(lambda: "varchar")
    type_bigint = staticmethod(lambda: "bigint")
    type_int = staticmethod(lambda: "integer")
    type_timestamp = staticmethod(lambda: "timestamp")


dbt = _Dbt()


class _Adapter:
    @staticmethod
    @jinja2.pass_context
    def dispatch(context, macro_name, macro_namespace=None):
        for prefix in ("duckdb__", "default__"):
            macro = context.get(prefix + macro_name)
            if macro is not None:
                return macro
        raise KeyError(macro_name)

    @staticmethod
    def quote(identifier):
        return f'"{identifier}"'


adapter = _Adapter()


def _raise_compiler_error(message):
    raise RuntimeError(message)


exceptions = SimpleNamespace(raise_compiler_error=_raise_compiler_error)
modules = SimpleNamespace(datetime=_datetime, re=_re)


class _ProjectNamespace:
    """`retention.<macro>(...)`: the project's own macro, called through the project's name."""

    def __getattr__(self, name):
        @jinja2.pass_context
        def call(context, *args, **kwargs):
            try:
                return context[name](*args, **kwargs)
            except MacroReturn as returned:  # the macro's {{ return(...) }}
                return returned.value

        return call


retention = _ProjectNamespace()
