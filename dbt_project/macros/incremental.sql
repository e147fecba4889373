{#- Incremental models re-read the delivery days in [as_of - var('lookback_days'), as_of] (from
    earlier when runs were missed: lookback_days before the first day the table lacks) and
    replace the records they contain (delete+insert on the record key). The window opens fully when
    the table is empty, lacks a column its merge ranks by (a table from before the column), or holds
    anything later than this run: deliveries after as_of (a backfill of an earlier day), or, given
    `version_col`, a version at or after this run's end (an earlier intraday increment run again).
    The pre-hook `rewind_future_deliveries` removes rows delivered after as_of first; a record whose
    newest version it removes may keep an older one only outside the window, which a fully open
    window reads again. So any as_of yields the same table as a full refresh. -#}
{% macro incremental_window_start(version_col=none, required=[]) -%}
    {%- if not incremental_ready(required) -%}{{ return(none) }}{%- endif -%}
    {%- set later = (", max(" ~ version_col ~ ") >= " ~ as_of_end()) if version_col else ", false" -%}
    {%- set res = run_query("select max(delivered_on)" ~ later ~ " from " ~ this) -%}
    {%- set max_d = res.columns[0].values()[0] if res and res.rows | length > 0 else none -%}
    {%- if max_d is none or (max_d | string) > run_as_of() or res.columns[1].values()[0] -%}{{ return(none) }}{%- endif -%}
    {#- lookback_days before as_of, or before the day after the latest delivery the table holds when
        that is earlier (runs were missed): the days between are read too -#}
    {%- set dt = modules.datetime -%}
    {%- set after_latest = dt.date.fromisoformat((max_d | string)[:10]) + dt.timedelta(days=1) -%}
    {%- set start = [dt.date.fromisoformat(run_as_of()), after_latest] | min - dt.timedelta(days=var('lookback_days')) -%}
    {{ return(dbt.cast(dbt.string_literal(start.isoformat()), 'date')) }}
{%- endmacro %}

{#- An incremental run whose table has every column in `required` (the key and what the merge ranks
    by); without one, the run reads everything and replaces every record, and
    on_schema_change='append_new_columns' adds the column. -#}
{% macro incremental_ready(required=[]) -%}
    {%- if not (execute and is_incremental()) -%}{{ return(false) }}{%- endif -%}
    {%- if required | length == 0 -%}{{ return(true) }}{%- endif -%}
    {%- set have = adapter.get_columns_in_relation(this) | map(attribute='name') | map('lower') | list -%}
    {%- for c in required if c | lower not in have -%}{{ return(false) }}{%- endfor -%}
    {{ return(true) }}
{%- endmacro %}

{% macro incremental_delivery_filter(col='date', version_col=none, required=[]) -%}
    {%- set start = incremental_window_start(version_col, required) -%}
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

{#- A latest-version staging model kept incrementally: `new_rows_sql` is the newest version of each
    record among the window's deliveries (the model's own select); an incremental run sets it against
    the version the table holds for the same key and keeps the one ranked first as latest_version
    ranks versions (updated_at, then delivery day, file and position), so the row a full refresh
    keeps. A full refresh is the select alone. -#}
{% macro keep_latest(new_rows_sql, key) -%}
    {%- set ranking = latest_ranking(key) -%}
    {%- if incremental_ready(ranking) -%}
        {%- set columns = adapter.get_columns_in_relation(this) | map(attribute='name') | map('lower') | list -%}
        {{ incremental_dedupe(new_rows_sql, key, ranking[1:] | join(' desc, ') ~ ' desc', columns) }}
    {%- else -%}
        {{ new_rows_sql }}
    {%- endif -%}
{%- endmacro %}

{#- The columns keep_latest needs in the table: the key, then what it ranks by, newest first. -#}
{% macro latest_ranking(key) -%}
    {{ return([key, 'updated_at', 'delivered_on', '_source_file', '_record_index']) }}
{%- endmacro %}

{#- The delivery-day models are incremental where the engine can delete and insert by key; on Spark
    without Delta (Parquet tables) they are rebuilt in full, the table a full refresh gives anyway. -#}
{% macro delivery_materialization() -%}{{ return(adapter.dispatch('delivery_materialization', 'retention')()) }}{%- endmacro %}
{% macro default__delivery_materialization() -%}{{ return('incremental') }}{%- endmacro %}
{% macro spark__delivery_materialization() -%}{{ return('table') }}{%- endmacro %}
