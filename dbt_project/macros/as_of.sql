{#- The run's logical date (YYYY-MM-DD). Every model is computed "as of" this date; never the wall clock.
    var as_of when given (on the dbt command line, or a unit test's overrides), else $RETENTION_AS_OF,
    which the pipeline sets (retention/dbt_build.py): the command's vars then stay the same from day
    to day, and dbt's partial parsing with them. The environment is read when executing only: read
    while parsing, it would make dbt parse again every file that uses it whenever the day changes. -#}
{% macro run_as_of() -%}
    {%- set given = var('as_of', none) -%}
    {%- if given is not none -%}{{ return(given | string) }}{%- endif -%}
    {{ return(env_var('RETENTION_AS_OF', '2026-01-01') if execute else '2026-01-01') }}
{%- endmacro %}

{#- Intraday increments: the instant (UTC) within the as_of day that event windows end at; none = the
    end of the day. var as_of_time, else $RETENTION_AS_OF_TIME, as run_as_of. -#}
{% macro run_as_of_time() -%}
    {%- set given = var('as_of_time', none) -%}
    {%- if given is not none -%}{{ return(given | string) }}{%- endif -%}
    {{ return((env_var('RETENTION_AS_OF_TIME', '') or none) if execute else none) }}
{%- endmacro %}

{% macro as_of_date() -%}
    {{ dbt.cast(dbt.string_literal(run_as_of()), 'date') }}
{%- endmacro %}

{#- Exclusive upper bound for event timestamps (UTC): the first instant after the as_of day, or the
    intraday increment's instant when as_of_time is set (see orchestration/INTRADAY.md). -#}
{% macro as_of_end() -%}
    {%- if run_as_of_time() -%}
    {{ dbt.cast(dbt.string_literal(as_of_time_utc()), dbt.type_timestamp()) }}
    {%- else -%}
    {{ dbt.dateadd('day', 1, dbt.cast(dbt.string_literal(run_as_of()), dbt.type_timestamp())) }}
    {%- endif -%}
{%- endmacro %}

{#- as_of_time as 'YYYY-MM-DD HH:MM:SS' UTC; it must lie within the as_of day (its end included),
    else the build would mix two days' data. -#}
{% macro as_of_time_utc() -%}
    {%- set dt = modules.datetime -%}
    {%- set raw = run_as_of_time() | string -%}
    {%- set moment = dt.datetime.fromisoformat(raw) -%}
    {%- if moment.tzinfo is not none -%}
        {%- set moment = moment.astimezone(dt.timezone.utc).replace(tzinfo=none) -%}
    {%- endif -%}
    {%- set start = dt.datetime.combine(dt.date.fromisoformat(run_as_of()), dt.time()) -%}
    {%- if moment < start or moment > start + dt.timedelta(days=1) -%}
        {{ exceptions.raise_compiler_error("as_of_time " ~ raw ~ " is outside the as_of day " ~ run_as_of()) }}
    {%- endif -%}
    {{ return(moment.strftime('%Y-%m-%d %H:%M:%S')) }}
{%- endmacro %}

{#- as_of minus n days, as a date. -#}
{% macro as_of_minus_days(n) -%}
    {{ dbt.cast(dbt.dateadd('day', -1 * n, as_of_date()), 'date') }}
{%- endmacro %}

{#- Delivery partitions visible on as_of (the landing hive column `date`). -#}
{% macro delivered_by_as_of(col='date') -%}
    {{ col }} <= {{ as_of_date() }}
{%- endmacro %}

{#- Timestamp (UTC) strictly before the end of the as_of day. -#}
{% macro before_as_of_end(col) -%}
    {{ col }} < {{ as_of_end() }}
{%- endmacro %}
