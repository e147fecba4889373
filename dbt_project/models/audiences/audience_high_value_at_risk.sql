{#- High value at risk: predicted to be valuable and slipping away (segment high_value_at_risk).
    Occurrence = the as_of month (YYYY-MM): at most one occurrence per person per month. -#}
with entries as (
    {{ audience_segment_entries('high_value_at_risk', dbt.string_literal(run_as_of()[:7])) }}
),

entry_products as (
    {{ audience_order_products('r.last_order_id') }}
),

products_json as (
    {{ audience_products_json() }}
)

select
    {{ audience_recipient_columns() }},
    {{ audience_payload([
        ['predicted_clv_12m', audience_json_value('c.predicted_clv_12m')],
        ['net_revenue', audience_json_value('c.net_revenue')],
        ['loyalty_tier', audience_json_value('c.loyalty_tier')],
        ['last_order_date', audience_json_value('c.last_order_date')],
    ]) }} as payload
{{ audience_from_entries() }}
