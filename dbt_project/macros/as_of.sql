{#- The run's logical date. Every model is computed "as of" this date; never the wall clock. -#}
{% macro as_of_date() -%}
    {{ dbt.cast(dbt.string_literal(var('as_of')), 'date') }}
{%- endmacro %}

{#- Exclusive upper bound for event timestamps (UTC): the first instant after the as_of day, or the
    intraday increment's instant when var as_of_time is set (see orchestration/INTRADAY.md). -#}
{% macro as_of_end() -%}
    {%- if var('as_of_time', none) -%}
    {{ dbt.cast(dbt.string_literal(as_of_time_utc()), dbt.type_timestamp()) }}
    {%- else -%}
    {{ dbt.dateadd('day', 1, dbt.cast(dbt.string_literal(var('as_of')), dbt.type_timestamp())) }}
    {%- endif -%}
{%- endmacro %}

{#- var as_of_time as 'YYYY-MM-DD HH:MM:SS' UTC; it must lie within the as_of day (its end included),
    else the build would mix two days' data. -#}
{% macro as_of_time_utc() -%}
    {%- set dt = modules.datetime -%}
    {%- set raw = var('as_of_time') | string -%}
    {%- set moment = dt.datetime.fromisoformat(raw) -%}
    {%- if moment.tzinfo is not none -%}
        {%- set moment = moment.astimezone(dt.timezone.utc).replace(tzinfo=none) -%}
    {%- endif -%}
    {%- set start = dt.datetime.combine(dt.date.fromisoformat(var('as_of') | string), dt.time()) -%}
    {%- if moment < start or moment > start + dt.timedelta(days=1) -%}
        {{ exceptions.raise_compiler_error("as_of_time " ~ raw ~ " is outside the as_of day " ~ var('as_of')) }}
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
