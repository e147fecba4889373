{#- Birthday: the birthday falls within as_of .. as_of + 6 days (segment birthday_this_week).
    Occurrence = the year of that birthday. -#}
{{ audience(
    'birthday_this_week',
    occurrence=dbt.cast('extract(year from t.triggered_at)', dbt.type_string()),
    products=none,
    extra_payload=[
        ['birthday', audience_json_value(audience_date_text('e.triggered_at'))],
        ['loyalty_tier', audience_json_value('c.loyalty_tier')],
    ],
) }}
