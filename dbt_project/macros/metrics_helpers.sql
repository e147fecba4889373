{#- Helpers for metrics_daily, retention_cohorts, product_affinities and product_recommendations. Portable. -#}

{#- Integers 0 .. 10^digits - 1 (cross join of digit rows; no engine-specific generate_series). -#}
{% macro metrics_integers(digits=4) -%}
    select
        {% for i in range(digits) -%}
        d{{ i }}.n * {{ 10 ** i }}{{ ' + ' if not loop.last }}
        {%- endfor %} as n
    from
        {% for i in range(digits) -%}
        (select 0 as n union all select 1 union all select 2 union all select 3 union all select 4
         union all select 5 union all select 6 union all select 7 union all select 8 union all select 9) as d{{ i }}
        {{- ' cross join' if not loop.last }}
        {% endfor %}
{%- endmacro %}

{#- One row per day (column day) from first_day (a date expression, e.g. a scalar subquery) up to
    as_of; no rows when first_day is null. -#}
{% macro metrics_day_spine(first_day) -%}
    select {{ dbt.cast(dbt.dateadd('day', 'i.n', 'h.first_day'), 'date') }} as day
    from (select {{ first_day }} as first_day) as h
    cross join ({{ metrics_integers(5) }}) as i
    where h.first_day is not null
      and i.n <= {{ dbt.datediff('h.first_day', as_of_date(), 'day') }}
{%- endmacro %}

{#- numerator / denominator as a double, null when the denominator is 0 or null. -#}
{% macro metrics_ratio(numerator, denominator) -%}
    ({{ dbt.cast(numerator, 'double') }} / nullif({{ dbt.cast(denominator, 'double') }}, 0))
{%- endmacro %}

{#- Date of a timestamp (UTC). -#}
{% macro metrics_day(col) -%}
    {{ dbt.cast(col, 'date') }}
{%- endmacro %}

{#- True when a visit arrives from a social network: its referrer's host names one of var('social_sources')
    (l.facebook.com, www.instagram.com...) or its URL carries utm_source=<one of them>. -#}
{% macro is_social_visit(referrer, url) -%}
    ({%- for s in var('social_sources') %}
        lower(coalesce({{ referrer }}, '')) like '%{{ s }}.%'
        or lower(coalesce({{ url }}, '')) like '%utm_source={{ s }}%'{{ ' or' if not loop.last }}
    {%- endfor %})
{%- endmacro %}

{#- A money amount per unit, to the cent, half up, computed in whole cents: a double cast to a
    decimal rounds differently on DuckDB (its binary value: 270.34 / 4 -> 67.58) and Spark (its
    shortest text: 67.59). -#}
{% macro money_ratio(numerator, denominator) -%}
    {{ dbt.cast('floor((2 * round((' ~ numerator ~ ') * 100) + (' ~ denominator ~ ')) / nullif(2 * (' ~ denominator ~ '), 0)) / 100', 'decimal(18,2)') }}
{%- endmacro %}
