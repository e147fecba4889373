{#- Incremental models re-read the delivery days in [as_of - var('lookback_days'), as_of] (from
    earlier when runs were missed: lookback_days before the first day the table lacks) and
    replace the records they contain (delete+insert on the record key). When the table is empty or
    holds deliveries after as_of (a backfill of an earlier day), the window opens fully, and the
    pre-hook `rewind_future_deliveries` removes rows delivered after as_of first, so any as_of
    yields the same table as a full refresh. -#}
{% macro incremental_window_start() -%}
    {%- if not (execute and is_incremental()) -%}{{ return(none) }}{%- endif -%}
    {%- set res = run_query("select max(delivered_on) from " ~ this) -%}
    {%- set max_d = res.columns[0].values()[0] if res and res.rows | length > 0 else none -%}
    {%- if max_d is none or (max_d | string) > run_as_of() -%}{{ return(none) }}{%- endif -%}
    {#- lookback_days before as_of, or before the day after the latest delivery the table holds when
        that is earlier (runs were missed): the days between are read too -#}
    {%- set dt = modules.datetime -%}
    {%- set after_latest = dt.date.fromisoformat((max_d | string)[:10]) + dt.timedelta(days=1) -%}
    {%- set start = [dt.date.fromisoformat(run_as_of()), after_latest] | min - dt.timedelta(days=var('lookback_days')) -%}
    {{ return(dbt.cast(dbt.string_literal(start.isoformat()), 'date')) }}
{%- endmacro %}

{% macro incremental_delivery_filter(col='date') -%}
    {%- set start = incremental_window_start() -%}
    {%- if start is not none %} and {{ col }} >= {{ start }}{% endif -%}
{%- endmacro %}

{#- An intraday build (as_of_time set) also removes the as_of day's own deliveries: the window re-reads
    them up to as_of_time, so re-running an earlier increment gives that increment's table. -#}
{% macro rewind_future_deliveries() -%}
    {%- if is_incremental() -%}
        delete from {{ this }} where delivered_on {{ '>=' if run_as_of_time() else '>' }} {{ as_of_date() }}
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}

{#- Deduplicate new rows together with the rows of the same keys already in the table, keeping
    the one ranked first by order_by: the same choice a full refresh makes. -#}
{% macro incremental_dedupe(new_rows_sql, key, order_by, columns) -%}
    with _new as (
        {{ new_rows_sql }}
    ),
    _candidates as (
        select {{ columns | join(', ') }} from _new
        {%- if is_incremental() %}
        union all
        select {{ columns | join(', ') }} from {{ this }}
        where {{ key }} in (select {{ key }} from _new)
        {%- endif %}
    ),
    _ranked as (
        select _candidates.*, row_number() over (partition by {{ key }} order by {{ order_by }}) as _rn
        from _candidates
    )
    select {{ columns | join(', ') }} from _ranked where _rn = 1
{%- endmacro %}

{#- The delivery-day models are incremental where the engine can delete and insert by key; on Spark
    without Delta (Parquet tables) they are rebuilt in full, the table a full refresh gives anyway. -#}
{% macro delivery_materialization() -%}{{ return(adapter.dispatch('delivery_materialization', 'retention')()) }}{%- endmacro %}
{% macro default__delivery_materialization() -%}{{ return('incremental') }}{%- endmacro %}
{% macro spark__delivery_materialization() -%}{{ return('table') }}{%- endmacro %}
