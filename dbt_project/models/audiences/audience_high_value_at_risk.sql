{#- High value at risk: predicted to be valuable and slipping away (segment high_value_at_risk).
    Occurrence = the as_of month (YYYY-MM): at most one occurrence per person per month. -#}
{{ audience(
    'high_value_at_risk',
    occurrence=dbt.string_literal(var('as_of')[:7]),
    products='last_order',
    extra_payload=[
        ['predicted_clv_12m', audience_json_value('c.predicted_clv_12m')],
        ['net_revenue', audience_json_value('c.net_revenue')],
        ['loyalty_tier', audience_json_value('c.loyalty_tier')],
        ['last_order_date', audience_json_value('c.last_order_date')],
    ],
) }}
