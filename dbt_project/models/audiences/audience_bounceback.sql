{#- Bounceback: an offer for the second order, bounceback_days_after_first_order days after the first
    order was fulfilled (placed, when it has no fulfilment: nothing to ship). The trigger day may lie up
    to bounceback_window_days - 1 days before as_of, so a missed day's run still catches it. Occurrence
    = the first order's id: once per person. Exit: any later order, the second order has come. -#}
with first_orders as (
    select
        customer_key,
        order_id,
        order_name,
        created_at,
        fulfilled_at,
        coalesce(fulfilled_at, created_at) as anchor_at
    from {{ ref('orders') }}
    where customer_order_number = 1 and customer_key is not null
),

entries as (
    select
        f.customer_key,
        {{ dbt.cast('f.order_id', dbt.type_string()) }} as occurrence,
        {{ dbt.dateadd('day', var('bounceback_days_after_first_order'), 'f.anchor_at') }} as triggered_at,
        cast(null as {{ dbt.type_bigint() }}) as product_id,
        f.order_id as reference_id
    from first_orders as f
    where {{ dbt.cast('f.anchor_at', 'date') }} <= {{ as_of_minus_days(var('bounceback_days_after_first_order')) }}
        and {{ dbt.cast('f.anchor_at', 'date') }}
        > {{ as_of_minus_days(var('bounceback_days_after_first_order') + var('bounceback_window_days')) }}
),

entry_products as (
    {{ audience_order_products('e.reference_id') }}
),

products_json as (
    {{ audience_products_json() }}
)

select
    {{ audience_recipient_columns() }},
    coalesce(exists (
        select 1 from {{ ref('orders') }} as o
        where o.customer_key = e.customer_key and not o.is_cancelled and o.customer_order_number > 1
    ), false) as exit_ordered_again,
    {{ audience_payload([
        ['first_order_id', audience_json_value('e.reference_id')],
        ['first_order_name', audience_json_value('(select f.order_name from first_orders f where f.order_id = e.reference_id)')],
        ['first_ordered_at', audience_json_time('(select f.created_at from first_orders f where f.order_id = e.reference_id)')],
    ]) }} as payload
{{ audience_from_entries() }}
