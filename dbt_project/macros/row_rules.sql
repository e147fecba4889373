{#- Generic test: the rules every row of a model keeps, checked in one query where dbt's not_null,
    unique, accepted_values and relationships run one query (and one Dagster asset check) per
    column and rule, each costing dbt about 40 ms whatever the table's size. The audiences share 17
    such rules on their contract's columns and key (27 audiences made 459 tests of a daily build),
    metrics_daily has 106 on its 60 columns, and every other model with two rules or more runs them
    as one test too (<model>_row_rules, keyed by columns that name no person). Same rules, same
    meaning:
    - not_null: columns that must hold a value;
    - accepted_values: {column: [values]}; a null passes, as with dbt's accepted_values;
    - between: {column: {min: m, max: n}}, either bound optional; a null passes;
    - present_in / present_column / present_field: every non-null value of present_column is a
      present_field of the model present_in names (dbt's relationships);
    - unique: columns each holding no value twice; nulls are not compared (dbt's unique);
    - unique_combination: columns whose values together hold no combination twice, nulls compared
      as equal (a GROUP BY's uniqueness, as dbt_utils' unique_combination_of_columns).
    Each failing row is a record of the model, named by key_columns, with the rules it breaks: a
    repeated key names each of its records. -#}
{% test row_rules(model, key_columns, not_null=[], accepted_values={}, between={}, present_in=none, present_column=none, present_field=none, unique=[], unique_combination=[]) %}
{%- set broken = [] -%}
{%- for column in not_null -%}
    {%- do broken.append("case when r." ~ column ~ " is null then '" ~ column ~ " is null' end") -%}
{%- endfor -%}
{%- for column, values in accepted_values.items() -%}
    {%- set listed = [] -%}
    {%- for value in values -%}{%- do listed.append(dbt.string_literal(value)) -%}{%- endfor -%}
    {%- do broken.append("case when r." ~ column ~ " not in (" ~ listed | join(', ') ~ ") then '"
                         ~ column ~ " not an accepted value' end") -%}
{%- endfor -%}
{%- for column, bounds in between.items() -%}
    {%- set outside = [] -%}
    {%- if bounds.min is defined -%}{%- do outside.append("r." ~ column ~ " < " ~ bounds.min) -%}{%- endif -%}
    {%- if bounds.max is defined -%}{%- do outside.append("r." ~ column ~ " > " ~ bounds.max) -%}{%- endif -%}
    {%- do broken.append("case when " ~ outside | join(' or ') ~ " then '" ~ column ~ " out of range' end") -%}
{%- endfor -%}
{%- if present_in is not none -%}
    {%- do broken.append("case when r." ~ present_column ~ " is not null and p._present is null then '"
                         ~ present_column ~ " not found in " ~ present_in.identifier ~ "' end") -%}
{%- endif -%}
{%- for column in unique -%}
    {%- do broken.append("case when u" ~ loop.index ~ "._key is not null then '" ~ column ~ " not unique' end") -%}
{%- endfor -%}
{%- if unique_combination -%}
    {%- do broken.append("case when uc._repeated then '" ~ unique_combination | join(', ')
                         ~ " not unique together' end") -%}
{%- endif -%}
select *
from (
    select {% for column in key_columns %}r.{{ column }}, {% endfor %}concat_ws(', ', {{ broken | join(', ') }}) as broken_rules
    from {{ model }} as r
    {%- if present_in is not none %}
    left join (select distinct {{ present_field }} as _key, true as _present from {{ present_in }}) as p
        on r.{{ present_column }} = p._key
    {%- endif %}
    {#- a repeated value found by a GROUP BY (cheaper than a window), then its records by a join -#}
    {%- for column in unique %}
    left join (select {{ column }} as _key from {{ model }} where {{ column }} is not null
               group by {{ column }} having count(*) > 1) as u{{ loop.index }}
        on r.{{ column }} = u{{ loop.index }}._key
    {%- endfor %}
    {%- if unique_combination %}
    left join (select {{ unique_combination | join(', ') }}, true as _repeated from {{ model }}
               group by {{ unique_combination | join(', ') }} having count(*) > 1) as uc
        on {% for column in unique_combination %}r.{{ column }} is not distinct from uc.{{ column }}{{ ' and ' if not loop.last }}{% endfor %}
    {%- endif %}
) as checked
where broken_rules <> ''
{% endtest %}
