{#- Engine-specific SQL lives here, behind adapter.dispatch, so the project can move to Spark. -#}

{#- A timestamp-with-time-zone as a naive UTC timestamp. -#}
{% macro to_utc(col) -%}{{ return(adapter.dispatch('to_utc', 'retention')(col)) }}{%- endmacro %}
{% macro default__to_utc(col) -%}cast({{ col }} as {{ dbt.type_timestamp() }}){%- endmacro %}
{% macro duckdb__to_utc(col) -%}timezone('UTC', {{ col }}){%- endmacro %}
{% macro spark__to_utc(col) -%}to_utc_timestamp({{ col }}, 'UTC'){%- endmacro %}

{#- Remove every character that is not a digit. -#}
{% macro digits_only(col) -%}{{ return(adapter.dispatch('digits_only', 'retention')(col)) }}{%- endmacro %}
{% macro default__digits_only(col) -%}regexp_replace({{ col }}, '[^0-9]', '', 'g'){%- endmacro %}
{% macro spark__digits_only(col) -%}regexp_replace({{ col }}, '[^0-9]', ''){%- endmacro %}

{#- First capture group of pattern in col, or null when it does not match. -#}
{% macro regex_extract(col, pattern, group=1) -%}{{ return(adapter.dispatch('regex_extract', 'retention')(col, pattern, group)) }}{%- endmacro %}
{% macro default__regex_extract(col, pattern, group) -%}nullif(regexp_extract({{ col }}, '{{ pattern }}', {{ group }}), ''){%- endmacro %}
{% macro spark__regex_extract(col, pattern, group) -%}nullif(regexp_extract({{ col }}, '{{ pattern }}', {{ group }}), ''){%- endmacro %}

{#- Make a date from integer parts (null when invalid). -#}
{% macro make_date_safe(y, m, d) -%}{{ return(adapter.dispatch('make_date_safe', 'retention')(y, m, d)) }}{%- endmacro %}
{% macro default__make_date_safe(y, m, d) -%}try_cast(lpad(cast({{ y }} as varchar), 4, '0') || '-' || lpad(cast({{ m }} as varchar), 2, '0') || '-' || lpad(cast({{ d }} as varchar), 2, '0') as date){%- endmacro %}
{% macro spark__make_date_safe(y, m, d) -%}make_date({{ y }}, {{ m }}, {{ d }}){%- endmacro %}

{#- Day of year-agnostic "month-day" key (MMDD as integer) of a date. -#}
{% macro month_day(col) -%}(extract(month from {{ col }}) * 100 + extract(day from {{ col }})){%- endmacro %}

{#- Join each row to the elements of its list column `col` (an empty or null list: no row), as `alias`. -#}
{% macro join_each(col, alias) -%}{{ return(adapter.dispatch('join_each', 'retention')(col, alias)) }}{%- endmacro %}
{% macro default__join_each(col, alias) -%}cross join unnest({{ col }}) as _each({{ alias }}){%- endmacro %}
{% macro spark__join_each(col, alias) -%}lateral view explode({{ col }}) _each as {{ alias }}{%- endmacro %}

{#- The median of col over a group (interpolated between the two middle values of an even count). -#}
{% macro median(col) -%}{{ return(adapter.dispatch('median', 'retention')(col)) }}{%- endmacro %}
{% macro default__median(col) -%}percentile_cont(0.5) within group (order by {{ col }}){%- endmacro %}
{% macro spark__median(col) -%}percentile({{ col }}, 0.5){%- endmacro %}
