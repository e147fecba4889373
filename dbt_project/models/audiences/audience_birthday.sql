{#- Birthday: the birthday falls within as_of .. as_of + 6 days (segment birthday_this_week).
    Occurrence = the year of that birthday. No products. -#}
with entries as (
    {{ audience_segment_entries('birthday_this_week', dbt.cast('extract(year from t.triggered_at)', dbt.type_string())) }}
)

select
    {{ audience_recipient_columns() }},
    {{ audience_payload([
        ['birthday', audience_json_value(audience_date_text('e.triggered_at'))],
        ['loyalty_tier', audience_json_value('c.loyalty_tier')],
    ], products="'[]'") }} as payload
{{ audience_from_entries(with_products=false) }}
