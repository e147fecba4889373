{#- The sources are the landing zone's Parquet directories. dbt-duckdb reads them through each
    source's meta.external_location; an engine without external locations gets an external table
    per source table over its directory (its schema merged by name over the files once, not at every
    read; dropping it leaves the files), made at the start of every run (on-run-start). The profile turns off partition tracking in the
    metastore, so a delivery day is read as soon as it lands. -#}
{% macro landing_source_tables() -%}{{ return(adapter.dispatch('landing_source_tables', 'retention')()) }}{%- endmacro %}

{% macro default__landing_source_tables() -%}{%- endmacro %}

{% macro spark__landing_source_tables() -%}
    {%- if not execute -%}{{ return('') }}{%- endif -%}
    {%- set schemas = [] -%}
    {%- for source in graph.sources.values() if source.meta.get('external_location') -%}
        {#- read_parquet('<root>/<source>/{name}/<glob>', ...): the directory is what precedes the glob -#}
        {%- set pattern = modules.re.search("read_parquet\('([^']+)'", source.meta['external_location']).group(1) -%}
        {%- set directory = pattern.replace('{name}', source.name).split('/*')[0].split('/date=*')[0] -%}
        {%- if source.schema not in schemas -%}
            {%- do schemas.append(source.schema) -%}
            {%- do run_query('create database if not exists ' ~ source.schema) -%}
        {%- endif -%}
        {%- set relation = source.schema ~ '.' ~ source.identifier -%}
        {%- if source.meta.get('columns_macro') -%}
            {#- landed only after a first run (the send ledger): a typed table that reads empty until then -#}
            {%- set columns = context['retention'][source.meta['columns_macro']]() -%}
            {%- do run_query('drop table if exists ' ~ relation) -%}
            {%- do run_query('create table ' ~ relation ~ ' ('
                             ~ columns | map('join', ' ') | map('replace', 'date date', '`date` date') | join(', ')
                             ~ ") using parquet partitioned by (`date`) location '" ~ directory ~ "'") -%}
        {%- else -%}
            {#- the schema merged by name once, here, not at every read -#}
            {%- do run_query('drop table if exists ' ~ relation) -%}
            {%- do run_query('create table ' ~ relation ~ " using parquet options (mergeSchema 'true') location '"
                             ~ directory ~ "'") -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return('') }}
{%- endmacro %}
