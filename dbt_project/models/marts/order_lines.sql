{#- One row per order line, net of refunded quantities and amounts (refund lines dated up to as_of). -#}
with refunded as (
    select line_id, sum(quantity) as refunded_quantity, sum(subtotal) as refunded_amount
    from {{ ref('stg_shopify__refund_lines') }}
    group by line_id
)
select
    l.line_id,
    l.order_id,
    o.customer_key,
    o.order_date,
    o.created_at as order_created_at,
    o.is_cancelled,
    l.product_id,
    l.variant_id,
    l.sku,
    l.title,
    l.quantity,
    coalesce(r.refunded_quantity, 0) as refunded_quantity,
    l.quantity - coalesce(r.refunded_quantity, 0) as net_quantity,
    l.price,
    {{ dbt.cast('l.price * l.quantity - coalesce(l.total_discount, 0)', 'decimal(18,2)') }} as gross_amount,
    {{ dbt.cast('coalesce(r.refunded_amount, 0)', 'decimal(18,2)') }} as refunded_amount,
    {{ dbt.cast('l.price * l.quantity - coalesce(l.total_discount, 0) - coalesce(r.refunded_amount, 0)', 'decimal(18,2)') }} as net_amount
from {{ ref('stg_shopify__order_lines') }} l
inner join {{ ref('orders') }} o on o.order_id = l.order_id
left join refunded r on r.line_id = l.line_id
