{#- Delay alert: the person's order is still unfulfilled (no fulfilment, not marked fulfilled)
    fulfillment_delay_days after it was placed. The trigger day (placement + that delay) may lie up to
    order_notice_window_days - 1 days before as_of; an older unfulfilled order (a pre-order, a stuck
    record) is not announced late. Occurrence = the order id: one alert per order. -#}
with entries as (
    select
        o.customer_key,
        {{ dbt.cast('o.order_id', dbt.type_string()) }} as occurrence,
        {{ dbt.dateadd('day', var('fulfillment_delay_days'), 'o.created_at') }} as triggered_at,
        cast(null as {{ dbt.type_bigint() }}) as product_id,
        o.order_id as reference_id,
        o.order_name,
        o.created_at
    from {{ ref('orders') }} as o
    where not o.is_cancelled and o.customer_key is not null
        and o.fulfilled_at is null and coalesce(o.fulfillment_status, 'unfulfilled') <> 'fulfilled'
        and {{ dbt.cast('o.created_at', 'date') }} <= {{ as_of_minus_days(var('fulfillment_delay_days')) }}
        and {{ dbt.cast('o.created_at', 'date') }}
        > {{ as_of_minus_days(var('fulfillment_delay_days') + var('order_notice_window_days')) }}
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
        ['order_name', audience_json_value('e.order_name')],
        ['ordered_at', audience_json_time('e.created_at')],
        ['days_waiting', audience_json_value(dbt.datediff(dbt.cast('e.created_at', 'date'), as_of_date(), 'day'))],
    ]) }} as payload
{{ audience_from_entries() }}
