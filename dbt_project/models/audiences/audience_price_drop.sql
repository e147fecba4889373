{#- Price drop: the price of a product the person looked at recently was lowered (segment
    price_drop). Occurrence = price-change date and product: '<YYYY-MM-DD>:<product_id>'. -#}
{{ audience(
    'price_drop',
    occurrence=dbt.concat([audience_date_text('t.triggered_at'), "':'", dbt.cast('t.product_id', dbt.type_string())]),
    products='trigger_product',
    exits=[
        ['out_of_stock', 'exists (select 1 from ' ~ ref('products') ~ ' p where p.product_id = e.product_id and not p.in_stock)'],
    ],
    extra_payload=[
        ['product_id', audience_json_value('e.product_id')],
        ['previous_price', audience_json_value('(select p.previous_price from ' ~ ref('products') ~ ' p where p.product_id = e.product_id)')],
        ['price', audience_json_value('(select p.current_price from ' ~ ref('products') ~ ' p where p.product_id = e.product_id)')],
        ['price_changed_at', audience_json_value('e.triggered_at')],
    ],
) }}
