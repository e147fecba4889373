{#- Loyalty tier by the trailing 12 months (orders in (as_of - 365 days, as_of]) of net spend (refunds
    dated up to as_of taken off) or of points earned (int_loyalty_points_ledger), as var
    loyalty_tier_basis says; the date the current tier was reached: the latest order date at which
    the trailing-365-day measure crossed the tier's threshold; and the points still to earn to reach
    the next tier. -#}
{%- set by_points = var('loyalty_tier_basis', 'spend') == 'points' %}
with orders as (
    select customer_key, order_date, order_id, net_revenue
    from {{ ref('int_orders_enriched') }}
    where not is_cancelled
),
points_earned as (
    select customer_key, order_id, points
    from {{ ref('int_loyalty_points_ledger') }}
    where event_type = 'earn'
),
measured as (
    -- what each order adds to the tier measure
    select o.customer_key, o.order_date, o.order_id, o.net_revenue, coalesce(p.points, 0) as points,
        {{ 'coalesce(p.points, 0)' if by_points else 'o.net_revenue' }} as measure
    from orders o
    left join points_earned p on p.order_id = o.order_id and p.customer_key = o.customer_key
),
trailing_measure as (
    select
        o.customer_key, o.order_date, o.order_id, o.measure,
        sum(p.measure) as trailing_at_order
    from measured o
    inner join measured p
        on p.customer_key = o.customer_key
       and p.order_date > {{ dbt.dateadd('day', -365, 'o.order_date') }}
       and (p.order_date < o.order_date or (p.order_date = o.order_date and p.order_id <= o.order_id))
    group by o.customer_key, o.order_date, o.order_id, o.measure
),
current_12m as (
    select customer_key,
        sum(case when order_date > {{ as_of_minus_days(365) }} then net_revenue else 0 end) as net_spend_12m,
        sum(case when order_date > {{ as_of_minus_days(365) }} then points else 0 end) as points_earned_12m,
        sum(case when order_date > {{ as_of_minus_days(365) }} then measure else 0 end) as measure_12m
    from measured group by customer_key
),
tiered as (
    select customer_key, net_spend_12m, points_earned_12m, measure_12m,
        {{ loyalty_tier('measure_12m') }} as loyalty_tier,
        {{ loyalty_threshold('measure_12m') }} as tier_threshold,
        {{ loyalty_next_threshold('measure_12m') }} - measure_12m as to_next_tier
    from current_12m
),
reached as (
    select t.customer_key, max(tr.order_date) as loyalty_tier_reached_on
    from tiered t
    inner join trailing_measure tr on tr.customer_key = t.customer_key
    where tr.trailing_at_order >= t.tier_threshold
      and tr.trailing_at_order - tr.measure < t.tier_threshold
      and tr.order_date > {{ as_of_minus_days(365) }}
    group by t.customer_key
)
select
    t.customer_key,
    {{ dbt.cast('t.net_spend_12m', 'decimal(18,2)') }} as net_spend_12m,
    {{ dbt.cast('t.points_earned_12m', dbt.type_bigint()) }} as points_earned_12m,
    t.loyalty_tier,
    r.loyalty_tier_reached_on,
    {%- if by_points %}
    {{ dbt.cast('t.to_next_tier', dbt.type_bigint()) }} as points_to_next_tier
    {%- else %}
    {{ dbt.cast('ceil(t.to_next_tier * ' ~ var('loyalty_points_per_currency_unit', 1) ~ ')', dbt.type_bigint()) }} as points_to_next_tier
    {%- endif %}
from tiered t
left join reached r on r.customer_key = t.customer_key
