{#- Review request: an order delivered 7-13 days ago and not reviewed (segment review_request).
    Occurrence = the order id. -#}
{{ audience(
    'review_request',
    occurrence=dbt.cast('t.reference_id', dbt.type_string()),
    products='order',
    exits=[
        ['reviewed', 'exists (select 1 from ' ~ ref('stg_reviews__reviews') ~ ' r where r.order_id = e.reference_id)'],
    ],
    extra_payload=[
        ['order_id', audience_json_value('e.reference_id')],
        ['order_name', audience_json_value('(select o.order_name from person_orders o where o.order_id = e.reference_id)')],
        ['delivered_at', audience_json_value('e.triggered_at')],
    ],
) }}
