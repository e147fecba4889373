{#- Price drop: the price of a product the person looked at recently was lowered (segment
    price_drop). Occurrence = price-change date and product: '<YYYY-MM-DD>:<product_id>'. -#}
with entries as (
    {{ audience_segment_entries('price_drop', dbt.concat([
        audience_date_text('t.triggered_at'), "':'", dbt.cast('t.product_id', dbt.type_string())
    ])) }}
),

entry_products as (
    {{ audience_trigger_products() }}
),

products_json as (
    {{ audience_products_json() }}
)

select
    {{ audience_recipient_columns() }},
    coalesce(exists (
        select 1 from {{ ref('products') }} p where p.product_id = e.product_id and not p.in_stock
    ), false) as exit_out_of_stock,
    {{ audience_payload([
        ['product_id', audience_json_value('e.product_id')],
        ['previous_price', audience_json_value('(select p.previous_price from ' ~ ref('products') ~ ' p where p.product_id = e.product_id)')],
        ['price', audience_json_value('(select p.current_price from ' ~ ref('products') ~ ' p where p.product_id = e.product_id)')],
        ['price_changed_at', audience_json_value('e.triggered_at')],
    ]) }} as payload
{{ audience_from_entries() }}
