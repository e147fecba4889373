{#- Back in stock: a variant the person subscribed to (back in stock or wish list, signed up before the
    restock) was restocked in the last back_in_stock_window_days and is in stock. A store without
    explicit subscriptions uses inferred interest instead: a product the person looked at recently
    (segment back_in_stock). Occurrence = restock month and product: '<YYYY-MM-01>:<product_id>' (the
    restock month's first day), so a product that flaps in and out of stock is announced to a person at
    most once a month (the send ledger holds each occurrence once). The ledger is not read here:
    activation reads these audiences, so reading its sends back would make the lineage circular. -#}
with subscribed as (
    {{ audience_subscribed_variants(['back_in_stock', 'wishlist']) }}
),

restocked as (
    select customer_key, product_id, max(restocked_at) as triggered_at
    from subscribed
    where inventory_quantity > 0 and restocked_at > subscribed_at
        and restocked_at >= {{ dbt.dateadd('day', -1 * var('back_in_stock_window_days'), as_of_end()) }}
        and restocked_at < {{ as_of_end() }}
    group by customer_key, product_id
),

entries as (
    select
        customer_key,
        {{ dbt.concat([audience_date_text(dbt.date_trunc('month', 'triggered_at')), "':'",
                       dbt.cast('product_id', dbt.type_string())]) }} as occurrence,
        triggered_at,
        product_id,
        cast(null as {{ dbt.type_bigint() }}) as reference_id
    from restocked
    union all
    {{ audience_segment_entries('back_in_stock', dbt.concat([
        audience_date_text(dbt.date_trunc('month', 't.triggered_at')), "':'", dbt.cast('t.product_id', dbt.type_string())
    ])) }}
        and not {{ audience_store_has_subscriptions() }}
),

entry_products as (
    {{ audience_trigger_products() }}
),

products_json as (
    {{ audience_products_json() }}
)

select
    {{ audience_recipient_columns() }},
    {{ audience_payload([
        ['product_id', audience_json_value('e.product_id')],
        ['restocked_at', audience_json_time('e.triggered_at')],
    ]) }} as payload
{{ audience_from_entries() }}
