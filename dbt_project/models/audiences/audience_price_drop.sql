{#- Price drop: a variant the person subscribed to (price drop or wish list, signed up before the change)
    was made at least price_drop_min_percent cheaper in the last price_drop_window_days. A store without
    explicit subscriptions uses inferred interest instead: the price of a product the person looked at
    recently was lowered (segment price_drop). Occurrence = price-change date and product:
    '<YYYY-MM-DD>:<product_id>'. -#}
with subscribed as (
    {{ audience_subscribed_variants(['price_drop', 'wishlist']) }}
),

cut as (
    select customer_key, product_id, max(price_changed_at) as triggered_at, min(price) as price,
           max(previous_price) as previous_price
    from subscribed
    where previous_price is not null
        and price <= previous_price * (1 - {{ var('price_drop_min_percent') }} / 100)
        and price_changed_at > subscribed_at
        and price_changed_at >= {{ dbt.dateadd('day', -1 * var('price_drop_window_days'), as_of_end()) }}
        and price_changed_at < {{ as_of_end() }}
    group by customer_key, product_id
),

entries as (
    select
        customer_key,
        {{ dbt.concat([audience_date_text('triggered_at'), "':'", dbt.cast('product_id', dbt.type_string())]) }}
        as occurrence,
        triggered_at,
        product_id,
        cast(null as {{ dbt.type_bigint() }}) as reference_id,
        previous_price,
        price
    from cut
    union all
    select i.*, p.previous_price, p.current_price as price
    from ({{ audience_segment_entries('price_drop', dbt.concat([
        audience_date_text('t.triggered_at'), "':'", dbt.cast('t.product_id', dbt.type_string())
    ])) }}
        and not {{ audience_store_has_subscriptions() }}) as i
    left join {{ ref('products') }} as p on i.product_id = p.product_id
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
        ['previous_price', audience_json_value('e.previous_price')],
        ['price', audience_json_value('e.price')],
        ['price_changed_at', audience_json_time('e.triggered_at')],
    ]) }} as payload
{{ audience_from_entries() }}
