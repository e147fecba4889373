{#- Win-back: lapsed past their own buying rhythm (segment win_back). Occurrence = the as_of month
    (YYYY-MM): at most one win-back occurrence per person per month. -#}
{{ audience(
    'win_back',
    occurrence=dbt.string_literal(var('as_of')[:7]),
    products='last_order',
    extra_payload=[
        ['last_order_date', audience_json_value('c.last_order_date')],
        ['days_since_last_order', audience_json_value('c.days_since_last_order')],
        ['order_count', audience_json_value('c.order_count')],
    ],
) }}
