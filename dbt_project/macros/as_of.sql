{#- The run's logical date. Every model is computed "as of" this date; never the wall clock. -#}
{% macro as_of_date() -%}
    {{ dbt.cast(dbt.string_literal(var('as_of')), 'date') }}
{%- endmacro %}

{#- First instant after the as_of day (exclusive upper bound for event timestamps, UTC). -#}
{% macro as_of_end() -%}
    {{ dbt.dateadd('day', 1, dbt.cast(dbt.string_literal(var('as_of')), dbt.type_timestamp())) }}
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
