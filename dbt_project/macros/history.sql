{#- The history models keep every earlier run's rows. Where the engine deletes and inserts by key
    (DuckDB), a run removes the rows it replaces and merges its new ones. Spark's Parquet tables (no
    Delta or Iceberg) can neither delete nor update, and Spark will not overwrite a table a query
    reads, so there a run copies the table aside first (history_snapshot, a pre-hook), computes the
    whole new table from that copy (history_prior) and overwrites the table with it. -#}
{% macro history_rewrites() -%}{{ return(adapter.dispatch('history_rewrites', 'retention')()) }}{%- endmacro %}
{% macro default__history_rewrites() -%}{{ return(false) }}{%- endmacro %}
{% macro spark__history_rewrites() -%}{{ return(true) }}{%- endmacro %}

{% macro history_strategy() -%}{{ return('insert_overwrite' if history_rewrites() else 'delete+insert') }}{%- endmacro %}

{#- The copy a rewriting run reads: the table before this run. -#}
{% macro history_prior() -%}{{ this.incorporate(path={'identifier': this.identifier ~ '__prior'}) }}{%- endmacro %}

{#- Hooks of a history model: the pre-hooks drop, then make, the copy; the post-hook drops it. -#}
{% macro history_drop_prior() -%}
    {{ 'drop table if exists ' ~ history_prior() if history_rewrites() else 'select 1' }}
{%- endmacro %}
{% macro history_snapshot() -%}
    {{ 'create table ' ~ history_prior() ~ ' as select * from ' ~ this if is_incremental() and history_rewrites() else 'select 1' }}
{%- endmacro %}
