{#- A landed column that a later version of ingestion added: null while no landed partition has it
    yet, so a data directory landed before the column existed still builds (once one partition has
    it, union_by_name gives the older partitions null by itself). -#}
{% macro landed_column(relation, column, type) -%}
    {%- if execute -%}
        {%- set landed = run_query("select * from " ~ relation ~ " limit 0").column_names | map('lower') | list -%}
    {%- else -%}
        {%- set landed = [column | lower] -%}
    {%- endif -%}
    {%- if column | lower in landed -%}{{ column }}{%- else -%}cast(null as {{ type }}){%- endif -%}
{%- endmacro %}
