{#- Orders with their customer_key, refunds (dated on the refund date, up to as_of) and delivery. -#}
with orders as (
    select * from {{ ref('stg_shopify__orders') }} where not is_test
),
ids as (select * from {{ ref('int_identity') }}),
refunds as (
    select order_id, sum(refund_amount) as refunded_amount, max(refund_date) as last_refund_date, count(*) as refund_count
    from {{ ref('stg_shopify__refunds') }}
    group by order_id
),
fulfillments as (
    select order_id, min(created_at) as fulfilled_at, max(delivered_at) as delivered_at
    from {{ ref('stg_shopify__fulfillments') }}
    group by order_id
)
select
    o.order_id,
    coalesce(ic.customer_key, ie.customer_key, ip.customer_key) as customer_key,
    o.customer_id,
    o.email,
    o.phone,
    o.customer_id is null as is_guest,
    o.order_name,
    o.created_at,
    {{ dbt.cast('o.created_at', 'date') }} as order_date,
    o.processed_at,
    o.cancelled_at,
    o.cancelled_at is not null as is_cancelled,
    o.financial_status,
    o.fulfillment_status,
    o.currency,
    o.source_name,
    o.checkout_id,
    o.checkout_token,
    o.subtotal_price,
    o.total_discounts,
    o.total_tax,
    o.total_shipping_price,
    o.total_price,
    case when o.cancelled_at is null then o.total_price else 0 end as gross_revenue,
    {{ dbt.cast('coalesce(r.refunded_amount, 0)', 'decimal(18,2)') }} as refunded_amount,
    r.last_refund_date,
    coalesce(r.refund_count, 0) as refund_count,
    {{ dbt.cast('case when o.cancelled_at is null then o.total_price - coalesce(r.refunded_amount, 0) else 0 end', 'decimal(18,2)') }} as net_revenue,
    f.fulfilled_at,
    f.delivered_at,
    o.line_item_count
from orders o
left join ids ic on ic.identifier_type = 'shopify_customer_id' and ic.identifier_value = cast(o.customer_id as {{ dbt.type_string() }})
left join ids ie on ie.identifier_type = 'email' and ie.identifier_value = o.email
left join ids ip on ip.identifier_type = 'phone' and ip.identifier_value = o.phone
left join refunds r on r.order_id = o.order_id
left join fulfillments f on f.order_id = o.order_id
