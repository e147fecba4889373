{#- Win-back: lapsed past their own buying rhythm (segment win_back). Occurrence = the as_of month
    (YYYY-MM): at most one win-back occurrence per person per month. -#}
with entries as (
    {{ audience_segment_entries('win_back', dbt.string_literal(run_as_of()[:7])) }}
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
        ['last_order_date', audience_json_value('c.last_order_date')],
        ['days_since_last_order', audience_json_value('c.days_since_last_order')],
        ['order_count', audience_json_value('c.order_count')],
    ]) }} as payload
{{ audience_from_entries() }}
