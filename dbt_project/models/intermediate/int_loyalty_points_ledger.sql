{#- Loyalty points, one row per event as of as_of (rules: DECISIONS.md, vars loyalty_points_*):
    earn    an order that is not cancelled and whose net revenue (refunds dated up to as_of taken off)
            reaches loyalty_points_min_order_value earns loyalty_points(net revenue) on its order date;
    redeem  an order quoting a reward code (prefix loyalty_reward_code_prefix, issued by the
            loyalty_reward_available campaign) spends loyalty_reward_points on its order date;
    expire  what is left of an earning on its order date + loyalty_points_expiry_days (that day
            counts as expired, before that day's redemptions).
    Redemptions spend the oldest points still valid first. Every earning expires in the order it was
    earned, so the points consumed (spent or expired) advance one pointer along the customer's earnings:
    after redemption n it is P(n) = R(n) + max(0, max over j <= n of X(j) - R(j-1)), with R the running
    redeemed total and X(j) the points earned by the earnings expired by redemption j's day. -#}
with orders as (
    select order_id, customer_key, order_date, net_revenue
    from {{ ref('int_orders_enriched') }}
    where not is_cancelled and customer_key is not null
),
earnings as (
    select customer_key, order_id, order_date as earned_on,
        {{ dbt.cast(dbt.dateadd('day', var('loyalty_points_expiry_days'), 'order_date'), 'date') }} as expires_on,
        {{ loyalty_points('net_revenue') }} as points
    from orders
    where net_revenue >= {{ var('loyalty_points_min_order_value', 0) }}
),
lots as (
    select *,
        sum(points) over (partition by customer_key order by earned_on, order_id rows between unbounded preceding and current row) as lot_end
    from earnings where points > 0
),
redemptions as (
    select o.customer_key, o.order_id, o.order_date as redeemed_on, {{ var('loyalty_reward_points') }} as points
    from orders o
    where o.order_id in (
        select order_id from {{ ref('stg_shopify__order_discount_codes') }}
        where code_key like {{ dbt.string_literal(var('loyalty_reward_code_prefix') | upper ~ '-%') }}
    )
),
redeemed_running as (
    select *,
        sum(points) over (partition by customer_key order by redeemed_on, order_id rows between unbounded preceding and current row) as redeemed_total
    from redemptions
),
expired_by_redemption as (
    -- X(j): the points of the earnings already expired on redemption j's day
    select r.*, coalesce(max(l.lot_end), 0) as expired_through
    from redeemed_running r
    left join lots l on l.customer_key = r.customer_key and l.expires_on <= r.redeemed_on
    group by r.customer_key, r.order_id, r.redeemed_on, r.points, r.redeemed_total
),
pointer as (
    select customer_key, order_id, redeemed_on, points,
        redeemed_total + greatest(0, max(expired_through - (redeemed_total - points)) over (
            partition by customer_key order by redeemed_on, order_id rows between unbounded preceding and current row)) as consumed_through
    from expired_by_redemption
),
expirations as (
    -- what the redemptions before the expiry day left of each earning
    select l.customer_key, l.order_id, l.expires_on,
        l.lot_end - greatest(coalesce(max(p.consumed_through), 0), l.lot_end - l.points) as points
    from lots l
    left join pointer p on p.customer_key = l.customer_key and p.redeemed_on < l.expires_on
    where l.expires_on <= {{ as_of_date() }}
    group by l.customer_key, l.order_id, l.expires_on, l.lot_end, l.points
),
events as (
    select customer_key, 'earn' as event_type, earned_on as event_date, order_id, points, expires_on from lots
    union all
    select customer_key, 'redeem', redeemed_on, order_id, -points, cast(null as date) from redemptions
    union all
    select customer_key, 'expire', expires_on, order_id, -points, cast(null as date) from expirations where points > 0
),
ranked as (
    -- within a day: expiries first, then earnings, then redemptions
    select *, case event_type when 'expire' then 0 when 'earn' then 1 else 2 end as event_rank from events
)
select
    {{ dbt.concat(['event_type', "':'", dbt.cast('order_id', dbt.type_string())]) }} as event_key,
    customer_key,
    event_type,
    event_date,
    order_id,
    {{ dbt.cast('points', dbt.type_bigint()) }} as points,
    expires_on,
    {{ dbt.cast('sum(points) over (partition by customer_key order by event_date, event_rank, order_id rows between unbounded preceding and current row)', dbt.type_bigint()) }} as balance_after
from ranked
