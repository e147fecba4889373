{#- Post-purchase thank-you: ordered in the last post_purchase_days days (segment
    post_purchase_thank_you). Occurrence = the order id (their latest order). -#}
{{ audience(
    'post_purchase_thank_you',
    occurrence=dbt.cast('t.reference_id', dbt.type_string()),
    products='order',
    extra_payload=[
        ['order_id', audience_json_value('e.reference_id')],
        ['order_name', audience_json_value('(select o.order_name from person_orders o where o.order_id = e.reference_id)')],
        ['order_total', audience_json_value('(select o.total_price from person_orders o where o.order_id = e.reference_id)')],
        ['order_count', audience_json_value('c.order_count')],
    ],
) }}
