{#- Loyalty tier by trailing-12-month net spend (orders in (as_of - 365 days, as_of], net of refunds
    dated up to as_of), and the date the current tier was reached: the latest order date at which the
    customer's trailing-365-day net spend crossed the tier's threshold. -#}
with orders as (
    select customer_key, order_date, order_id, net_revenue
    from {{ ref('int_orders_enriched') }}
    where not is_cancelled
),
trailing_spend as (
    select
        o.customer_key, o.order_date, o.order_id, o.net_revenue,
        sum(p.net_revenue) as trailing_at_order
    from orders o
    inner join orders p
        on p.customer_key = o.customer_key
       and p.order_date > {{ dbt.dateadd('day', -365, 'o.order_date') }}
       and (p.order_date < o.order_date or (p.order_date = o.order_date and p.order_id <= o.order_id))
    group by o.customer_key, o.order_date, o.order_id, o.net_revenue
),
current_spend as (
    select customer_key,
        sum(case when order_date > {{ as_of_minus_days(365) }} then net_revenue else 0 end) as net_spend_12m
    from orders group by customer_key
),
tiered as (
    select customer_key, net_spend_12m,
        {{ loyalty_tier('net_spend_12m') }} as loyalty_tier,
        {{ loyalty_threshold('net_spend_12m') }} as tier_threshold
    from current_spend
),
reached as (
    select t.customer_key, max(tr.order_date) as loyalty_tier_reached_on
    from tiered t
    inner join trailing_spend tr on tr.customer_key = t.customer_key
    where tr.trailing_at_order >= t.tier_threshold
      and tr.trailing_at_order - tr.net_revenue < t.tier_threshold
      and tr.order_date > {{ as_of_minus_days(365) }}
    group by t.customer_key
)
select
    t.customer_key,
    {{ dbt.cast('t.net_spend_12m', 'decimal(18,2)') }} as net_spend_12m,
    t.loyalty_tier,
    r.loyalty_tier_reached_on
from tiered t
left join reached r on r.customer_key = t.customer_key
