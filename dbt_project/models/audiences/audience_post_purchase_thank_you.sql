{#- Post-purchase thank-you: ordered in the last post_purchase_days days (segment
    post_purchase_thank_you). Occurrence = the order id (their latest order). -#}
with person_orders as (
    {{ audience_person_orders() }}
),

entries as (
    {{ audience_segment_entries('post_purchase_thank_you', dbt.cast('t.reference_id', dbt.type_string())) }}
),

entry_products as (
    {{ audience_order_products('e.reference_id') }}
),

products_json as (
    {{ audience_products_json() }}
)

select
    {{ audience_recipient_columns() }},
    {{ audience_payload([
        ['order_id', audience_json_value('e.reference_id')],
        ['order_name', audience_json_value('(select o.order_name from person_orders o where o.order_id = e.reference_id)')],
        ['order_total', audience_json_value('(select o.total_price from person_orders o where o.order_id = e.reference_id)')],
        ['order_count', audience_json_value('c.order_count')],
    ]) }} as payload
{{ audience_from_entries() }}
