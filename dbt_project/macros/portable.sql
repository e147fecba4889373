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

{#- Text values of a group joined by delimiter in the order of order_by, one expression or a list
    (nulls left out; null when there are none). dbt.listagg drops its ORDER BY on Spark, so Spark
    sorts (keys, value) structs; a null key sorts last, as DuckDB's default order puts it. -#}
{% macro ordered_listagg(expr, delimiter, order_by) -%}{{ return(adapter.dispatch('ordered_listagg', 'retention')(expr, delimiter, [order_by] if order_by is string else order_by)) }}{%- endmacro %}
{% macro default__ordered_listagg(expr, delimiter, order_by) -%}{{ dbt.listagg(expr, delimiter, 'order by ' ~ order_by | join(', ')) }}{%- endmacro %}
{% macro spark__ordered_listagg(expr, delimiter, order_by) -%}
    {%- set keys = [] -%}
    {%- for key in order_by -%}
        {%- do keys.append("'n" ~ loop.index ~ "', " ~ key ~ " is null, 'k" ~ loop.index ~ "', " ~ key) -%}
    {%- endfor -%}
    case when count({{ expr }}) > 0 then array_join(transform(
        array_sort(collect_list(named_struct({{ keys | join(', ') }}, 'v', {{ expr }}))), _p -> _p.v), {{ delimiter }}) end
{%- endmacro %}

{#- The n smallest values of value_col per group_col, each with its rank (1 = smallest) as rank_col.
    DuckDB keeps the top n per group in one aggregate (min(x, n)) instead of ranking every row. -#}
{% macro smallest_per_group(relation, group_col, value_col, n, rank_col) -%}{{ return(adapter.dispatch('smallest_per_group', 'retention')(relation, group_col, value_col, n, rank_col)) }}{%- endmacro %}
{% macro default__smallest_per_group(relation, group_col, value_col, n, rank_col) -%}
    select {{ group_col }}, {{ value_col }}, {{ rank_col }} from (
        select {{ group_col }}, {{ value_col }},
            row_number() over (partition by {{ group_col }} order by {{ value_col }}) as {{ rank_col }}
        from {{ relation }}
    ) _ranked where {{ rank_col }} <= {{ n }}
{%- endmacro %}
{% macro duckdb__smallest_per_group(relation, group_col, value_col, n, rank_col) -%}
    select t.{{ group_col }}, u.{{ value_col }}, u.{{ rank_col }}
    from (
        select {{ group_col }}, min({{ value_col }}, {{ n }}) as _values from {{ relation }} group by {{ group_col }}
    ) t, unnest(t._values) with ordinality as u({{ value_col }}, {{ rank_col }})
{%- endmacro %}
