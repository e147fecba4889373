{#- Orders and refunds per UTC day: the non-cancelled, non-test orders of int_orders_enriched
    (cancellation status as known on as_of), dated by order_date; refunds of those orders count on
    their refund date. One row per day with an order or a refund. -#}
with orders as (
    select order_id, customer_key, order_date, gross_revenue
    from {{ ref('int_orders_enriched') }}
    where not is_cancelled and order_date <= {{ as_of_date() }}
),

first_orders as (
    select customer_key, min(order_date) as first_order_date
    from orders
    where customer_key is not null
    group by customer_key
),

order_days as (
    select
        o.order_date as day,
        count(*) as orders,
        sum(o.gross_revenue) as gross_revenue,
        count(distinct o.customer_key) as ordering_customers,
        count(distinct case when f.first_order_date = o.order_date then o.customer_key end) as new_customers,
        count(distinct case when f.first_order_date < o.order_date then o.customer_key end) as returning_customers
    from orders as o
    left join first_orders as f on o.customer_key = f.customer_key
    group by o.order_date
),

refund_days as (
    select
        r.refund_date as day,
        sum(r.refund_amount) as refunded_amount
    from {{ ref('stg_shopify__refunds') }} as r
    inner join orders as o on r.order_id = o.order_id
    where r.refund_date <= {{ as_of_date() }}
    group by r.refund_date
),

joined as (
    select
        coalesce(od.day, rd.day) as day,
        coalesce(od.orders, 0) as orders,
        coalesce(od.gross_revenue, 0) as gross_revenue,
        coalesce(rd.refunded_amount, 0) as refunded_amount,
        coalesce(od.ordering_customers, 0) as ordering_customers,
        coalesce(od.new_customers, 0) as new_customers,
        coalesce(od.returning_customers, 0) as returning_customers
    from order_days as od
    full outer join refund_days as rd on od.day = rd.day
)

select
    day,
    orders,
    {{ dbt.cast('gross_revenue', 'decimal(18,2)') }} as gross_revenue,
    {{ dbt.cast('refunded_amount', 'decimal(18,2)') }} as refunded_amount,
    {{ dbt.cast('gross_revenue - refunded_amount', 'decimal(18,2)') }} as net_revenue,
    {{ money_ratio('gross_revenue', 'orders') }} as average_order_value,
    ordering_customers,
    new_customers,
    returning_customers
from joined
